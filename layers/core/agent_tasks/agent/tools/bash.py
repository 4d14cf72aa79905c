"""The bash tool: a shell command in the workdir, with a scrubbed environment, a timeout and capped output.

Not a filesystem sandbox: the command runs as the function's user. What it should not get is
the function's environment (AWS credentials, API keys): it starts from an empty one, and the
function's process is made non-dumpable first, so a same-user child cannot read
/proc/<parent>/environ either (root could; Lambda does not run functions as root). bash has the
network the function has: `netguard` limits `http_request`, not what a shell command reaches.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Annotated

from pydantic import Field

from agent_tasks.agent.tools import processes
from agent_tasks.agent.tools.base import OUTPUT_CAP_CHARS, LocalTool, ToolContext, ToolError, ToolInput

DEFAULT_TIMEOUT_SECONDS = 120
MAX_TIMEOUT_SECONDS = 600
# Leave this much of the invocation's time for storing the result.
DEADLINE_MARGIN_SECONDS = 5.0
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OUTPUT_CAP_BYTES = OUTPUT_CAP_CHARS


class BashInput(ToolInput):
    command: Annotated[str, Field(min_length=1, description="The bash command to run.")]
    timeout_seconds: Annotated[
        int, Field(ge=1, le=MAX_TIMEOUT_SECONDS, description="Kill the command after this many seconds.")
    ] = DEFAULT_TIMEOUT_SECONDS


def scrubbed_environment(workdir: Path, tag: str) -> dict[str, str]:
    """The only variables a command sees: nothing inherited, so no AWS_* and no API keys; the tag
    marks its processes as this run's (see `processes`)."""
    tmpdir = workdir / ".tmp"
    tmpdir.mkdir(exist_ok=True)
    return {
        "PATH": SAFE_PATH,
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "TMPDIR": str(tmpdir),
    } | processes.tool_environment(tag)


class _CappedReader(threading.Thread):
    """Drains a pipe so the child never blocks, keeping only the first `cap` bytes."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self._cap = cap
        self.kept = bytearray()
        self.total = 0

    def run(self) -> None:
        # read1: whatever has arrived, not 64 KiB or EOF, so output is kept even if EOF never comes
        while chunk := self._stream.read1(65536):  # type: ignore[attr-defined]
            self.total += len(chunk)
            room = self._cap - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]


PR_SET_DUMPABLE = 4


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@functools.cache
def _hide_own_environment() -> None:
    """PR_SET_DUMPABLE=0: /proc/<this process>/environ becomes unreadable to same-user processes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def run_bash(args: BashInput, ctx: ToolContext) -> str:
    _hide_own_environment()
    tag = processes.current_tag.get()
    if tag is None:  # outside an executor invocation (a direct call): a run of its own
        with processes.tagged_run() as own:
            return _run_bash(args, ctx, own)
    return _run_bash(args, ctx, tag)


def _run_bash(args: BashInput, ctx: ToolContext, tag: str) -> str:
    workdir = ctx.workdir.resolve()
    budget = ctx.deadline() - DEADLINE_MARGIN_SECONDS
    if budget < 1:
        raise ToolError("no time left in this invocation to run a command")
    timeout = min(float(args.timeout_seconds), budget)
    process = subprocess.Popen(  # noqa: S603 - the command is the tool's purpose; it runs confined as documented
        ["/bin/bash", "-c", args.command],
        cwd=workdir,
        env={**scrubbed_environment(workdir, tag), **ctx.secrets},  # the task's secrets, by name
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a timeout kills its children too
    )
    assert process.stdout is not None
    reader = _CappedReader(process.stdout, OUTPUT_CAP_BYTES)
    reader.start()
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill_group(process)
        process.wait()
        # Then every process the command started, however it detached (setsid, double fork, disown).
        processes.kill_processes(tag)
        reader.join(timeout=5)
        still_held = reader.is_alive()
        if not still_held:  # a detached child may still hold the pipe: then leave the reader (a daemon) be
            process.stdout.close()
    output = reader.kept.decode("utf-8", errors="replace")
    if still_held:
        output += "\n[a background process still holds the output; it was not waited for]"
    if reader.total > len(reader.kept):
        output += f"\n[output truncated: {reader.total - len(reader.kept)} more bytes not shown]"
    if timed_out:
        raise ToolError(f"{output}\n[command timed out after {timeout:.0f} s and was killed]".lstrip())
    if process.returncode != 0:
        raise ToolError(f"{output}\n[exit code {process.returncode}]".lstrip())
    return output or "(no output)"


BASH = LocalTool(
    "bash",
    "Run a bash command in the session's working directory. The environment is minimal "
    "(PATH, HOME, LANG, TMPDIR); output is capped and long commands are killed.",
    BashInput,
    run_bash,
)
