"""The local cloud: the real template.yaml deployed into moto, handlers invoked in-process,
an HTTP API front with a JWT authorizer on http://localhost:8000, and the scheduled rules fired."""
