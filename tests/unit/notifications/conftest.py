"""Notification tests: receivers listen on loopback, which only tests may allow."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent_tasks.settings import get_settings


@pytest.fixture
def private_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ENVIRONMENT", "local")  # the only environment that may allow it
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
