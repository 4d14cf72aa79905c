"""Tasks as code: read task definitions from YAML or JSON files and plan what `tasks apply` changes.

A file holds one task (a mapping), a list of tasks, or `{"tasks": [...]}`; YAML files may hold
several documents. Tasks are matched to the stored ones by name, ignoring case, as the API does.
Only the fields a file gives are compared and sent: a field left out keeps its stored value.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

SUFFIXES = (".yaml", ".yml", ".json")
Action = Literal["create", "update", "unchanged", "delete"]


class TaskFileError(ValueError):
    """A file that cannot be read as task definitions; the message names the file and the reason."""


@dataclass
class Change:
    action: Action
    name: str
    desired: dict[str, Any] = field(default_factory=dict)
    current: Mapping[str, Any] | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # what an update sends

    @property
    def task_id(self) -> str | None:
        return str(self.current["id"]) if self.current else None

    def diff(self) -> str:
        """What would change, as a unified diff of the fields involved (YAML)."""
        if self.action == "create":
            before, after = "", _yaml(self.desired)
        elif self.action == "delete":
            before, after = _yaml(_definition(self.current or {})), ""
        else:
            have = {key: _subset((self.current or {}).get(key), value) for key, value in self.fields.items()}
            before, after = _yaml(have), _yaml(self.fields)
        lines = difflib.unified_diff(
            before.splitlines(), after.splitlines(), f"stored/{self.name}", f"files/{self.name}", lineterm=""
        )
        return "\n".join(lines)


def _yaml(value: Any) -> str:
    if not value:
        return ""
    return yaml.safe_dump(value, sort_keys=True, allow_unicode=True, default_flow_style=False, width=10**6)


DEFINITION_FIELDS = (
    "name",
    "description",
    "prompt_template",
    "sdk_options",
    "allowed_tools",
    "disallowed_tools",
    "working_directory_path",
    "is_scheduled",
    "schedule_cron",
    "schedule_timezone",
    "schedule_enabled",
    "overlap_policy",
    "pause_after_failures",
    "generate_report",
    "report_format",
    "notification_config",
    "tags",
    "is_public",
    "is_active",
)


def _definition(task: Mapping[str, Any]) -> dict[str, Any]:
    """A stored task as a file would define it (no ids, versions, links or computed fields)."""
    return {key: task[key] for key in DEFINITION_FIELDS if key in task and task[key] is not None}


def definition_yaml(task: Mapping[str, Any]) -> str:
    """A stored task as a task file `apply` accepts."""
    return _yaml(_definition(task))


def _subset(have: Any, want: Any) -> Any:
    """`have` restricted to the keys `want` gives (recursively), so a diff shows only what a file says."""
    if isinstance(have, Mapping) and isinstance(want, Mapping):
        return {key: _subset(have.get(key), value) for key, value in want.items()}
    return have


def differs(want: Any, have: Any) -> bool:
    """Whether a file's value differs from the stored one (keys left out of an object do not count)."""
    if isinstance(want, Mapping) and isinstance(have, Mapping):
        return any(differs(value, have.get(key)) for key, value in want.items())
    if isinstance(want, list) and isinstance(have, list):
        return len(want) != len(have) or any(differs(w, h) for w, h in zip(want, have, strict=True))
    return bool(want != have)


def _documents(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return [json.loads(text)]
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (ValueError, yaml.YAMLError) as error:
        raise TaskFileError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {error}") from error


def _files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise TaskFileError(f"{path}: no such file or directory")
    return found


def load_tasks(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every task defined in the files (directories are searched for .yaml, .yml and .json files)."""
    tasks: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    for path in _files(paths):
        for document in _documents(path):
            items = document.get("tasks") if isinstance(document, dict) and "tasks" in document else document
            for index, item in enumerate(items if isinstance(items, list) else [items]):
                where = f"{path} (task {index + 1})"
                if not isinstance(item, dict):
                    raise TaskFileError(f"{where}: a task is a mapping of fields, not {type(item).__name__}")
                name = item.get("name")
                if not isinstance(name, str) or not name.strip():
                    raise TaskFileError(f"{where}: name: a task needs a name (a non-empty string)")
                if name.casefold() in seen:
                    raise TaskFileError(f"{where}: name: {name!r} is also defined in {seen[name.casefold()]}")
                seen[name.casefold()] = path
                tasks.append(item)
    return tasks


def plan(desired: list[dict[str, Any]], stored: Iterable[Mapping[str, Any]], *, prune: bool) -> list[Change]:
    """Creates, updates and (with `prune`) deletes that make the stored tasks match the files."""
    by_name = {str(task["name"]).casefold(): task for task in stored}
    changes: list[Change] = []
    for task in desired:
        current = by_name.pop(str(task["name"]).casefold(), None)
        if current is None:
            changes.append(Change("create", task["name"], desired=task))
            continue
        fields = {key: value for key, value in task.items() if differs(value, current.get(key))}
        action: Action = "update" if fields else "unchanged"
        changes.append(Change(action, task["name"], desired=task, current=current, fields=fields))
    if prune:
        changes += [Change("delete", str(task["name"]), current=task) for task in by_name.values()]
    return changes
