"""One executor invocation's own scratch directory and processes; nothing of an earlier one is left.

Lambda hands the same execution environment (its `/tmp`, any process still alive) to the next
invocation, which may be another user's. So an invocation starts by killing every tool process
of runs that are no longer running and removing everything in the scratch root that is not a
running invocation's; its tools work in a directory of their own there; and when it ends its
processes are killed and its directory removed.

The scratch root is `EXECUTOR_SCRATCH_ROOT`: `/tmp` in AWS (the executor function owns all of
it, and it is the only place it can write), a private directory of this process otherwise, so
that tests and the dev server, which share a machine with other programs, only ever remove
what they made themselves.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from agent_tasks.agent.tools import processes
from agent_tasks.settings import get_settings

RUN_PREFIX = "run-"


@functools.cache
def _private_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="agent-tasks-executor-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def scratch_root() -> Path:
    configured = get_settings().executor_scratch_root
    return Path(configured) if configured else _private_root()


def _remove(path: Path) -> None:
    """Remove a file, link or tree, even one a tool made unreadable (never following links out)."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    with contextlib.suppress(OSError):
        path.chmod(0o700)
    for directory, subdirs, _files in os.walk(path):
        for name in subdirs:
            child = Path(directory, name)
            if not child.is_symlink():
                with contextlib.suppress(OSError):
                    child.chmod(0o700)
    shutil.rmtree(path, ignore_errors=True)


def clean_leftovers(root: Path | None = None) -> None:
    """Kill the processes of runs that ended, and remove what is not a running invocation's."""
    processes.kill_processes(None)
    root = root or scratch_root()
    if not root.is_dir():
        return
    keep = {f"{RUN_PREFIX}{tag}" for tag in processes.running_tags()}
    for entry in root.iterdir():
        if entry.name not in keep:
            _remove(entry)


@contextlib.contextmanager
def invocation_scope() -> Iterator[Path]:
    """A fresh directory for this invocation's tools, with earlier leftovers gone; bash calls inside
    tag their processes with this invocation, which are all killed when the block ends."""
    root = scratch_root()
    root.mkdir(parents=True, exist_ok=True)
    with processes.tagged_run() as tag:
        clean_leftovers(root)
        directory = root / f"{RUN_PREFIX}{tag}"
        directory.mkdir(mode=0o700)
        try:
            yield directory
        finally:
            processes.kill_processes(tag)
            _remove(directory)
