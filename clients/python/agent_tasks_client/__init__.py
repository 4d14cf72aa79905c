"""A Python client for the Agent Tasks API: `AgentTasks(url, token)`; errors and models beside it."""

from agent_tasks_client.client import AgentTasks, Progress, api_base
from agent_tasks_client.errors import (
    AgentTasksError,
    APIError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationFailed,
)

__all__ = [
    "APIError",
    "AgentTasks",
    "AgentTasksError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PreconditionFailed",
    "Progress",
    "RateLimited",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "ValidationFailed",
    "api_base",
]
