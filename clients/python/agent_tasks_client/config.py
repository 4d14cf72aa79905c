"""Profiles for the command line: which API and which token, kept in a file only its owner can read.

The file is `$AGENT_TASKS_CONFIG_DIR/config.json`, else `$XDG_CONFIG_HOME/agent-tasks/config.json`,
else `~/.config/agent-tasks/config.json`; it is written with mode 0600 in a 0700 directory.
`AGENT_TASKS_URL` and `AGENT_TASKS_TOKEN` (for CI) take precedence over the profile.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_PROFILE = "default"


@dataclass(frozen=True)
class Profile:
    url: str
    token: str | None = None


def config_path() -> Path:
    explicit = os.environ.get("AGENT_TASKS_CONFIG_DIR")
    if explicit:
        return Path(explicit) / "config.json"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agent-tasks" / "config.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    return data if isinstance(data, dict) else {}


def load_profile(name: str | None = None) -> Profile | None:
    """The named profile (else the current one), with the environment's URL and token over it."""
    data = _read(config_path())
    profiles = data.get("profiles") or {}
    stored = profiles.get(name or data.get("current") or DEFAULT_PROFILE) or {}
    url = os.environ.get("AGENT_TASKS_URL") or stored.get("url")
    token = os.environ.get("AGENT_TASKS_TOKEN") or stored.get("token")
    return Profile(str(url), str(token) if token else None) if url else None


def save_profile(name: str, profile: Profile) -> Path:
    """Store the profile and make it the current one; the file is never readable by others."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = _read(path)
    data.setdefault("profiles", {})[name] = {"url": profile.url, "token": profile.token}
    data["current"] = name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # an older file may have had a wider mode
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
    return path
