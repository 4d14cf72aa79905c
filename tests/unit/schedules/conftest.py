"""Scheduler tests run against moto (the template's table) with a do-nothing state machine."""

from __future__ import annotations

import pytest

from agent_tasks.settings import get_settings
from tests.support.schedules import use_pass_state_machine


@pytest.fixture(autouse=True)
def claim_when_due(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests claim slots when they are due: the lookahead (claiming ahead, the workflow waiting
    for the slot) is off unless a test turns it on (test_lookahead.py)."""
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "0")
    get_settings.cache_clear()


@pytest.fixture
def state_machine(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """The ARN of a moto state machine the scheduler starts executions on. Runs of the pass machine
    never end, so the per-user concurrency limit is raised past what any of these tests starts."""
    monkeypatch.setenv("MAX_CONCURRENT_RUNS_PER_USER", "1000")
    return use_pass_state_machine(monkeypatch)
