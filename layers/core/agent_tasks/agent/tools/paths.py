"""Paths the model names, resolved inside the session's working directory or refused."""

from __future__ import annotations

from pathlib import Path

from agent_tasks.agent.tools.base import ToolError


def resolve_inside(workdir: Path, path: str) -> Path:
    """`path` (relative to `workdir`, or absolute but inside it) with symlinks resolved.

    Refused when the result lies outside `workdir`: `../`, absolute paths elsewhere, and
    symlinks that point out of it all end here.
    """
    if "\x00" in path:
        raise ToolError("path contains a NUL byte")
    root = workdir.resolve()
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise ToolError(f"path {path!r} is outside the working directory")
    return resolved


def relative_name(workdir: Path, path: Path) -> str:
    return path.relative_to(workdir.resolve()).as_posix() or "."
