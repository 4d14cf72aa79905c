"""Routers of the API function, one module per resource."""
