"""Required infrastructure settings have no defaults: a function missing one fails at its cold start."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from agent_tasks.settings import SettingsError, get_settings
from agent_tasks_local.lambdas import load_function_module
from tests.support.template import PROJECT_ROOT


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("variable", ["TABLE_NAME", "BUCKET_NAME", "EVENT_BUS_NAME"])
def test_a_missing_infrastructure_setting_is_named(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    # Given an environment without one of the required variables
    monkeypatch.delenv(variable)
    # When the settings are read / Then the error names the variable
    with pytest.raises(SettingsError, match=variable):
        get_settings()


@pytest.mark.parametrize(
    ("function", "variable"),
    [
        ("executor", "TABLE_NAME"),
        ("reporter", "BUCKET_NAME"),
        ("reconciler", "EVENT_BUS_NAME"),
        ("scheduler", "STATE_MACHINE_ARN"),
        ("api", "STATE_MACHINE_ARN"),
    ],
)
def test_a_function_missing_a_setting_fails_at_cold_start(
    monkeypatch: pytest.MonkeyPatch, function: str, variable: str
) -> None:
    # Given a function deployed without a variable it needs
    monkeypatch.delenv(variable)
    # When Lambda loads its module (the cold start) / Then loading fails, naming the variable
    with pytest.raises(SettingsError, match=variable):
        load_function_module(
            PROJECT_ROOT / "functions" / function, "app", f"cold_{function}_{uuid.uuid4().hex}"
        )
