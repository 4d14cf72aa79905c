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


def test_variables_are_read_in_any_case_and_given_values_win(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a variable set in lower case, and another also given to the constructor
    from agent_tasks.settings import Settings

    monkeypatch.delenv("DEFAULT_MODEL", raising=False)
    monkeypatch.setenv("default_model", "claude-from-env")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    # When the settings are made
    settings = Settings(RETENTION_DAYS=7)
    # Then the lower-case variable is read, and the constructor's value beats the environment's
    assert settings.default_model == "claude-from-env"
    assert settings.retention_days == 7
    assert Settings().retention_days == 30


def test_an_invalid_value_is_named_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a variable the settings cannot take
    monkeypatch.setenv("DUE_SHARDS", "0")
    # When the settings are read / Then the error names the variable and says why
    with pytest.raises(SettingsError, match=r"DUE_SHARDS.*greater than or equal to 1"):
        get_settings()
