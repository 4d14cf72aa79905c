"""The agent engine: the Claude tool-use loop, its tools and providers.

Only this package talks to a model. Importing it must stay cheap: `anthropic` is imported
only where a model is called (see providers), never at package import.
"""
