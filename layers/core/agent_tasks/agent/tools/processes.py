"""No tool process outlives its call: tagging, finding and killing what the tools started.

Lambda reuses an execution environment (its processes and `/tmp`) for the next invocation,
which may be another user's, so whatever a command leaves running (`setsid nohup ... &`, a
double fork, `disown`, a process that ignores SIGTERM) must die with the call.

How the tool processes are found, without touching anyone else's:

- The executor's process is a *child subreaper* (`prctl(PR_SET_CHILD_SUBREAPER)`): a process
  whose parent exits is re-parented to us, not to init, so every process a tool started stays
  among our descendants however it detaches (`setsid` changes the session, not the parent).
- Every tool process is started with `AGENT_TASKS_TOOL_RUN=<tag>` in its environment; its
  children inherit it. The tag names the invocation (a random token of this process plus a
  counter), so the invocations running in this process (threads, in the local cloud) and
  other executor processes on the same machine never match each other's processes.
- Cleaning up kills, among our descendants only, every process carrying the tag and the whole
  subtree below each (which covers a child that cleared its environment while its parent lives).
  With scope `descendants` (set in AWS, where the executor process has no other children)
  every descendant not tagged for another running invocation dies too, so a process that
  cleared its environment *and* was orphaned is still caught. With scope `tagged` (the local
  default: pytest, the dev server and its helpers share the process) only tagged processes are
  touched; see README's security section.

Killing is SIGSTOP then SIGKILL, repeated until no target is left, so a fork loop cannot
outrun it; processes re-parented to us are reaped, so no zombies pile up.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Literal

TAG_VARIABLE = "AGENT_TASKS_TOOL_RUN"
PR_SET_CHILD_SUBREAPER = 36
MAX_KILL_ROUNDS = 100
REAP_WAIT_SECONDS = 2.0

Scope = Literal["tagged", "descendants"]

_PROCESS_TOKEN = secrets.token_hex(8)
_counter = itertools.count(1)
_lock = threading.Lock()
_active: set[str] = set()
# Tool processes seen alive (by pid): once one is a zombie re-parented to us, we reap it.
_seen: set[int] = set()
# The tag of the invocation running in this thread (or task); tools read it to tag their processes.
current_tag: ContextVar[str | None] = ContextVar("agent_tasks_tool_run", default=None)


@functools.cache
def become_subreaper() -> bool:
    """Make this process the child subreaper of everything it starts (Linux; False elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def new_tag() -> str:
    return f"{_PROCESS_TOKEN}-{next(_counter)}"


@contextlib.contextmanager
def tagged_run(tag: str | None = None) -> Iterator[str]:
    """Mark `tag` (a new one if None) as running for the block; kill its processes when it ends."""
    become_subreaper()
    tag = tag or new_tag()
    with _lock:
        _active.add(tag)
    token = current_tag.set(tag)
    try:
        yield tag
    finally:
        current_tag.reset(token)
        try:
            kill_processes(tag)
        finally:
            with _lock:
                _active.discard(tag)


def tool_environment(tag: str) -> dict[str, str]:
    return {TAG_VARIABLE: tag}


# -- reading /proc ------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of `pid`, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            text = handle.read().decode(errors="replace")
    except OSError:
        return None
    # The command name may hold spaces and parentheses: the fields start after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    if len(fields) < 2:
        return None
    return int(fields[1]), fields[0]


def _tag_of(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            environ = handle.read()
    except OSError:
        return None
    prefix = f"{TAG_VARIABLE}=".encode()
    for entry in environ.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix) :].decode(errors="replace")
    return None


@functools.cache
def _proc_available() -> bool:
    return os.path.isdir("/proc/self")


def _descendants() -> dict[int, tuple[int, str]]:
    """Every descendant of this process: pid -> (parent pid, state)."""
    me = os.getpid()
    table: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            info = _stat(int(name))
            if info is not None:
                table[int(name)] = info
    children: dict[int, list[int]] = {}
    for pid, (parent, _state) in table.items():
        children.setdefault(parent, []).append(pid)
    found: dict[int, tuple[int, str]] = {}
    stack = list(children.get(me, []))
    while stack:
        pid = stack.pop()
        if pid in found:
            continue
        found[pid] = table[pid]
        stack.extend(children.get(pid, []))
    return found


def _targets(tag: str | None, scope: Scope) -> tuple[set[int], set[int]]:
    """(live processes to kill, zombie children of ours to reap) for `tag` (None: every finished run)."""
    me = os.getpid()
    tree = _descendants()
    with _lock:
        running = set(_active)
    marked: set[int] = set()
    for pid, (_parent, state) in tree.items():
        if state == "Z":
            continue
        owner = _tag_of(pid)
        if owner is not None and owner.startswith(_PROCESS_TOKEN):
            with _lock:
                _seen.add(pid)
        if owner is None:
            if scope == "descendants":
                marked.add(pid)
        elif (
            owner == tag
            # only runs of this process: another executor process's (a dev server under pytest) may be
            # our descendants too
            or (tag is None and owner.startswith(_PROCESS_TOKEN) and owner not in running)
            or (scope == "descendants" and owner not in running)
        ):
            marked.add(pid)
    # Whole subtrees below a marked process (a child may have cleared its environment).
    kill: set[int] = set()
    for pid in tree:
        walk = pid
        while walk in tree:
            if walk in marked:
                kill.add(pid)
                break
            walk = tree[walk][0]
    live = {pid for pid in kill if tree[pid][1] != "Z"}
    zombies = {pid for pid, (parent, state) in tree.items() if state == "Z" and parent == me}
    return live, zombies


def _signal(pids: set[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _reap(pids: set[int]) -> None:
    """Collect the exit status of our own children among `pids` (those re-parented to us)."""
    give_up = time.monotonic() + REAP_WAIT_SECONDS
    waiting = set(pids)
    while waiting:
        for pid in list(waiting):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                waiting.discard(pid)  # not our child (its parent reaps it), or already reaped
                continue
            if done:
                waiting.discard(pid)
        if not waiting or time.monotonic() > give_up:
            return
        time.sleep(0.005)


def kill_processes(tag: str | None, *, scope: Scope | None = None) -> int:
    """Kill the processes of run `tag`, or (tag None) of every run no longer running. Returns how many."""
    if not _proc_available():
        return 0
    scope = scope or _scope()
    killed: set[int] = set()
    for _round in range(MAX_KILL_ROUNDS):
        live, zombies = _targets(tag, scope)
        # Zombies of ours: ones we killed, or (scope descendants: every one) that died on their own.
        with _lock:
            ours = zombies if scope == "descendants" else zombies & (killed | _seen)
            _seen.difference_update(ours)
        _reap(ours)
        if not live:
            break
        _signal(live, signal.SIGSTOP)  # frozen first, so none can fork while the others die
        _signal(live, signal.SIGKILL)
        killed |= live
        _reap(live)
    return len(killed)


def _scope() -> Scope:
    from agent_tasks.settings import get_settings

    return get_settings().tool_process_scope


def running_tags() -> set[str]:
    with _lock:
        return set(_active)
