"""Ports for the service's side effects beyond its own storage, each with its AWS adapter and an
in-memory fake: workflows (Step Functions), events (EventBridge), secure values (SSM, Secrets
Manager), topics (SNS). Only adapters (and store/, aws.py) import boto3 or botocore.

Services ask for a port (`workflows()`, `event_bus()`, `secure_values()`); the AWS adapter is made
once per process. Tests that are not about AWS itself swap in the fakes with `use(...)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agent_tasks.adapters.events import EventBridgeBus, EventBus, InMemoryEventBus, PublishOutcome
from agent_tasks.adapters.secure_values import InMemorySecureValues, ParameterStoreValues, SecureValues
from agent_tasks.adapters.topics import InMemoryTopics, SnsTopics, TopicOutcome, Topics
from agent_tasks.adapters.workflows import (
    InMemoryWorkflows,
    StepFunctionsWorkflows,
    Workflows,
    WorkflowStartError,
)

_ports: dict[str, Any] = {}


def workflows() -> Workflows:
    port: Workflows = _ports.setdefault("workflows", StepFunctionsWorkflows())
    return port


def event_bus() -> EventBus:
    port: EventBus = _ports.setdefault("event_bus", EventBridgeBus())
    return port


def topics() -> Topics:
    port: Topics = _ports.setdefault("topics", SnsTopics())
    return port


def secure_values() -> SecureValues:
    port: SecureValues = _ports.setdefault("secure_values", ParameterStoreValues())
    return port


@contextmanager
def use(
    *,
    workflows: Workflows | None = None,
    event_bus: EventBus | None = None,
    secure_values: SecureValues | None = None,
    topics: Topics | None = None,
) -> Iterator[None]:
    """Use these ports (fakes, in tests) inside the block; the ones given only."""
    chosen = {
        "workflows": workflows,
        "event_bus": event_bus,
        "secure_values": secure_values,
        "topics": topics,
    }
    saved = dict(_ports)
    _ports.update({name: port for name, port in chosen.items() if port is not None})
    try:
        yield
    finally:
        _ports.clear()
        _ports.update(saved)


def reset() -> None:
    """Forget the adapters made so far (tests that switch endpoints or settings call this)."""
    _ports.clear()


__all__ = [
    "EventBridgeBus",
    "EventBus",
    "InMemoryEventBus",
    "InMemorySecureValues",
    "InMemoryTopics",
    "InMemoryWorkflows",
    "ParameterStoreValues",
    "PublishOutcome",
    "SecureValues",
    "SnsTopics",
    "StepFunctionsWorkflows",
    "TopicOutcome",
    "Topics",
    "WorkflowStartError",
    "Workflows",
    "event_bus",
    "reset",
    "secure_values",
    "topics",
    "use",
    "workflows",
]
