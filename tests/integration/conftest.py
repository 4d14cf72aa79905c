"""Fixtures of the local-cloud flows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_tasks.settings import get_settings
from tests.support.messages_server import MessagesServer


@pytest.fixture
def claim_when_due(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These flows claim each slot when it is due: with the lookahead on, the second tick would claim
    the next minute's slot ahead (its flow: test_schedule_lookahead_flow.py)."""
    monkeypatch.setenv("SCHEDULE_LOOKAHEAD_SECONDS", "0")
    get_settings.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    """The functions' model: the real `anthropic` client against a local Messages server, for this test."""
    with MessagesServer() as server:
        monkeypatch.setenv("MODEL_PROVIDER", "anthropic")
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-local")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        get_settings.cache_clear()
        yield server
    monkeypatch.undo()
    get_settings.cache_clear()
