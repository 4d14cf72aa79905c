"""Each local tool stays inside the working directory, and bash sees no secrets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agent_tasks.agent.tools import LOCAL_TOOL_IMPLEMENTATIONS, ToolContext, ToolOutput, run_local_tool


def run(name: str, workdir: Path, **tool_input: object) -> ToolOutput:
    return run_local_tool(LOCAL_TOOL_IMPLEMENTATIONS[name], tool_input, ToolContext(workdir=workdir))


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET")
    return path


@pytest.mark.parametrize(
    "path_of", [lambda s: "../secret.txt", lambda s: str(s), lambda s: "sub/../../secret.txt"]
)
def test_read_file_refuses_paths_outside_the_workdir(workdir: Path, secret: Path, path_of: object) -> None:
    result = run("read_file", workdir, path=path_of(secret))  # type: ignore[operator]
    assert result.is_error
    assert "outside the working directory" in result.text
    assert "TOP-SECRET" not in result.text


def test_read_file_refuses_a_symlink_that_escapes(workdir: Path, secret: Path) -> None:
    (workdir / "link.txt").symlink_to(secret)
    (workdir / "linkdir").symlink_to(secret.parent, target_is_directory=True)

    for path in ("link.txt", "linkdir/secret.txt"):
        result = run("read_file", workdir, path=path)
        assert result.is_error, path
        assert "TOP-SECRET" not in result.text


def test_read_file_accepts_paths_inside_including_absolute_ones(workdir: Path) -> None:
    (workdir / "notes.txt").write_text("one\ntwo\nthree\n")
    assert run("read_file", workdir, path="notes.txt").text == "one\ntwo\nthree\n"
    assert run("read_file", workdir, path=str(workdir / "notes.txt"), offset=1, limit=1).text == "two\n"


def test_write_and_edit_refuse_paths_outside(workdir: Path, secret: Path, tmp_path: Path) -> None:
    (workdir / "out").symlink_to(tmp_path, target_is_directory=True)

    assert run("write_file", workdir, path="../new.txt", content="x").is_error
    assert run("write_file", workdir, path=str(tmp_path / "abs.txt"), content="x").is_error
    assert run("write_file", workdir, path="out/via-link.txt", content="x").is_error
    assert run("edit_file", workdir, path="../secret.txt", old_string="TOP", new_string="NOT").is_error

    assert not (tmp_path / "new.txt").exists()
    assert not (tmp_path / "abs.txt").exists()
    assert not (tmp_path / "via-link.txt").exists()
    assert secret.read_text() == "TOP-SECRET"


def test_write_then_edit_inside(workdir: Path) -> None:
    assert not run("write_file", workdir, path="a/b.txt", content="hello world").is_error
    assert not run("edit_file", workdir, path="a/b.txt", old_string="world", new_string="there").is_error
    assert (workdir / "a" / "b.txt").read_text() == "hello there"
    not_unique = run("write_file", workdir, path="c.txt", content="x x")
    assert not not_unique.is_error
    assert "occurs 2 times" in run("edit_file", workdir, path="c.txt", old_string="x", new_string="y").text


def test_list_files_and_grep_stay_inside(workdir: Path, secret: Path) -> None:
    (workdir / "inside.md").write_text("TOP-SECRET copy is fine here\n")
    (workdir / "link.txt").symlink_to(secret)
    (workdir / "linkdir").symlink_to(secret.parent, target_is_directory=True)

    listed = run("list_files", workdir, pattern="**/*")
    assert listed.text.splitlines() == ["inside.md"]
    assert run("list_files", workdir, pattern="../*").is_error
    assert run("list_files", workdir, path="..").is_error

    found = run("grep", workdir, pattern="TOP-SECRET")
    assert found.text.splitlines() == ["inside.md:1: TOP-SECRET copy is fine here"]
    assert run("grep", workdir, pattern="x", path="../secret.txt").is_error


def test_bash_environment_has_no_aws_or_api_secrets(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given secrets in the function's environment
    secrets = {
        "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE",
        "AWS_SECRET_ACCESS_KEY": "fake-aws-secret-value",
        "AWS_SESSION_TOKEN": "fake-session-token",
        "ANTHROPIC_API_KEY": "sk-ant-fake-key",
        "GITHUB_TOKEN": "ghp_fake",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)

    # When the model runs `env`
    result = run("bash", workdir, command="env; pwd")

    # Then none of them is visible, and HOME and the cwd are the workdir
    assert not result.is_error
    for name, value in secrets.items():
        assert name not in result.text
        assert value not in result.text
    names = {line.split("=", 1)[0] for line in result.text.splitlines() if "=" in line}
    assert names <= {"PATH", "HOME", "LANG", "TMPDIR", "PWD", "SHLVL", "_", "OLDPWD", "AGENT_TASKS_TOOL_RUN"}
    assert f"HOME={workdir.resolve()}" in result.text
    assert result.text.splitlines()[-1] == str(workdir.resolve())


def test_bash_timeout_kills_the_whole_process_group(workdir: Path) -> None:
    started = time.monotonic()
    result = run("bash", workdir, command="sleep 60 & echo $! > child.pid; sleep 60", timeout_seconds=1)
    assert time.monotonic() - started < 10
    assert result.is_error
    assert "timed out after 1 s" in result.text
    child = int((workdir / "child.pid").read_text())
    # The background child held the output pipe, so it had died by the time the tool returned
    # (gone, or a zombie waiting for init to reap it).
    stat = Path(f"/proc/{child}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"


def test_bash_output_is_capped_with_a_note(workdir: Path) -> None:
    result = run("bash", workdir, command="head -c 100000 /dev/zero | tr '\\0' 'a'")
    assert not result.is_error
    assert len(result.text) < 31_000
    assert "[output truncated: 70000 more bytes not shown]" in result.text


def test_bash_nonzero_exit_is_a_tool_error(workdir: Path) -> None:
    result = run("bash", workdir, command="echo oops; exit 3")
    assert result.is_error
    assert "oops" in result.text
    assert "[exit code 3]" in result.text


def test_bash_makes_the_function_process_non_dumpable(workdir: Path) -> None:
    # Given a bash call has run / Then this process's /proc entries are closed to same-user processes
    import ctypes

    run("bash", workdir, command="true")
    pr_get_dumpable = 3
    assert ctypes.CDLL(None).prctl(pr_get_dumpable, 0, 0, 0, 0) == 0


def test_a_detached_child_holding_the_output_is_killed_not_waited_for(workdir: Path) -> None:
    # Given a command that leaves a child in its own session holding stdout
    result = run("bash", workdir, command="setsid sleep 60 & echo $! > child.pid; echo started")
    # Then the call returns with what was printed, and the child is gone
    assert "started" in result.text
    assert "still holds the output" not in result.text
    child = int((workdir / "child.pid").read_text())
    proc = Path(f"/proc/{child}/stat")
    assert not proc.exists() or proc.read_text().split(") ")[1][0] == "Z"


def test_grep_never_opens_a_fifo(workdir: Path) -> None:
    # Given a named pipe in the working directory (opening it would block with no writer)
    import os

    from agent_tasks.agent.tools.files import _files_under

    (workdir / "notes.txt").write_text("hello\n")
    os.mkfifo(workdir / "pipe")
    # Then grep's file list leaves it out
    assert [p.name for p in _files_under(workdir, workdir.resolve())] == ["notes.txt"]


def test_edit_file_says_when_a_file_is_not_text(workdir: Path) -> None:
    (workdir / "blob.bin").write_bytes(b"\xff\xfe\x00binary")
    result = run("edit_file", workdir, path="blob.bin", old_string="a", new_string="b")
    assert result.is_error
    assert "not UTF-8 text" in result.text
