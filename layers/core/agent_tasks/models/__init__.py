"""Pydantic models: the one definition of every shape the service stores or answers."""
