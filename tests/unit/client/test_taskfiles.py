"""Tasks as code: reading task files and planning what `tasks apply` changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent_tasks_client.taskfiles import TaskFileError, differs, load_tasks, plan


def _stored(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"id-{name}",
        "version": 3,
        "name": name,
        "prompt_template": "p",
        "sdk_options": {"model": "claude-sonnet-5-5", "max_turns": 10, "permission_mode": "default"},
        "allowed_tools": ["read_file"],
        "tags": [],
        **fields,
    }


def test_files_hold_one_task_a_list_or_several_yaml_documents(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("name: A\nprompt_template: p\n---\nname: B\nprompt_template: p\n")
    (tmp_path / "c.json").write_text(json.dumps([{"name": "C"}, {"name": "D"}]))
    (tmp_path / "e.yml").write_text("tasks:\n  - name: E\n")
    (tmp_path / "notes.txt").write_text("not a task")
    assert [t["name"] for t in load_tasks([tmp_path])] == ["A", "B", "C", "D", "E"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: A\n---\nname: a\n", "'a' is also defined in"),
        ("prompt_template: p\n", "name: a task needs a name"),
        ("- just a string\n", "a task is a mapping of fields, not str"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_file_names_the_file_and_the_reason(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TaskFileError) as raised:
        load_tasks([path])
    assert str(path) in str(raised.value)
    assert reason in str(raised.value)


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="no such file"):
        load_tasks([tmp_path / "missing.yaml"])


def test_a_plan_creates_updates_only_changed_fields_and_prunes_by_name_ignoring_case() -> None:
    desired = [
        {"name": "new one", "prompt_template": "p"},
        {"name": "SAME", "prompt_template": "p", "sdk_options": {"model": "claude-sonnet-5-5"}},
        {"name": "changed", "prompt_template": "q", "allowed_tools": ["read_file"]},
    ]
    stored = [_stored("same"), _stored("changed"), _stored("orphan")]
    changes = {c.name: c for c in plan(desired, stored, prune=True)}
    assert {n: c.action for n, c in changes.items()} == {
        "new one": "create",
        "SAME": "update",  # the name's case differs: that is a change of the name
        "changed": "update",
        "orphan": "delete",
    }
    assert changes["SAME"].fields == {"name": "SAME"}
    assert changes["changed"].fields == {"prompt_template": "q"}
    assert changes["changed"].task_id == "id-changed"
    assert "orphan" not in {c.name for c in plan(desired, stored, prune=False)}


def test_fields_a_file_leaves_out_of_an_object_are_not_a_difference() -> None:
    have = {"model": "claude-sonnet-5-5", "max_turns": 10, "permission_mode": "default"}
    assert not differs({"model": "claude-sonnet-5-5"}, have)
    assert differs({"model": "claude-sonnet-5-5", "max_turns": 5}, have)
    assert differs(["a"], ["a", "b"])


def test_the_dry_run_diff_shows_only_what_the_file_changes() -> None:
    [change] = plan(
        [{"name": "T", "prompt_template": "new"}], [_stored("T", prompt_template="old")], prune=False
    )
    diff = change.diff()
    assert "-prompt_template: old" in diff
    assert "+prompt_template: new" in diff
    assert "sdk_options" not in diff
