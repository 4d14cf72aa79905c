"""Profiles: a file only its owner can read, in the config directory the environment names."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent_tasks_client.config import Profile, config_path, load_profile, save_profile


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("AGENT_TASKS_CONFIG_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in ("AGENT_TASKS_URL", "AGENT_TASKS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_a_saved_profile_is_mode_0600_even_over_an_older_wider_file(config_home: Path) -> None:
    path = config_path()
    assert path == config_home / "xdg" / "agent-tasks" / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    path.chmod(0o644)
    save_profile("default", Profile("http://127.0.0.1:8000", "secret-token"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_profile() == Profile("http://127.0.0.1:8000", "secret-token")


def test_profiles_are_kept_by_name_and_the_last_saved_is_current(config_home: Path) -> None:
    save_profile("prod", Profile("https://api.example.com", "p"))
    save_profile("local", Profile("http://127.0.0.1:8000", "l"))
    assert load_profile() == Profile("http://127.0.0.1:8000", "l")
    assert load_profile("prod") == Profile("https://api.example.com", "p")


def test_the_environment_wins_over_the_profile(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_profile("default", Profile("http://127.0.0.1:8000", "stored"))
    monkeypatch.setenv("AGENT_TASKS_TOKEN", "from-ci")
    assert load_profile() == Profile("http://127.0.0.1:8000", "from-ci")


def test_no_profile_and_no_environment_is_none() -> None:
    assert load_profile() is None
