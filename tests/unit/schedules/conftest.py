"""Scheduler tests run against moto (the template's table) with the in-memory workflow port: the
scheduler's subject is its own storage; starting a workflow is our port (its AWS adapter is tested
against moto in tests/unit/test_aws_adapters.py)."""

from __future__ import annotations

import pytest

from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.settings import get_settings
from tests.support.fixtures import FakePorts


@pytest.fixture(autouse=True)
def claim_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests claim slots when they are due: the lookahead (claiming ahead, the workflow waiting
    for the slot) is off unless a test turns it on (test_lookahead.py)."""
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "0")
    get_settings.cache_clear()


@pytest.fixture
def workflows(
    aws: dict[str, str], fake_ports: FakePorts, monkeypatch: pytest.MonkeyPatch
) -> InMemoryWorkflows:
    """The fake workflow port the scheduler starts executions on (events, topics and secure values are
    fakes too). Its workflows never run, so the per-user concurrency limit is raised past what any of
    these tests starts."""
    monkeypatch.setenv("MAX_CONCURRENT_RUNS_PER_USER", "1000")
    get_settings.cache_clear()
    return fake_ports.workflows
