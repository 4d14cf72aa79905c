"""File tools: read_file, write_file, edit_file, list_files (glob) and grep, all inside the workdir."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import regex
from pydantic import Field

from agent_tasks.agent.tools.base import (
    OUTPUT_CAP_CHARS,
    LocalTool,
    ToolContext,
    ToolError,
    ToolInput,
    cap_bytes,
    cap_text,
)
from agent_tasks.agent.tools.paths import relative_name, resolve_inside

MAX_READ_BYTES = 2_000_000
MAX_WRITE_CHARS = 5_000_000
MAX_LIST_ENTRIES = 1_000
MAX_GREP_MATCHES = 500
MAX_GREP_FILE_BYTES = 2_000_000
# Only this much of each line is searched (and shown in part): a 2 MB one-line file is not a line.
MAX_GREP_LINE_CHARS = 10_000
MAX_GREP_PATTERN_CHARS = 1_000
# One grep call never runs longer than this, nor past the invocation's deadline.
MAX_GREP_SECONDS = 60.0
DEADLINE_MARGIN_SECONDS = 5.0


class ReadFileInput(ToolInput):
    path: Annotated[str, Field(min_length=1, description="File path relative to the working directory.")]
    offset: Annotated[int, Field(ge=0, description="First line to return (0-based).")] = 0
    limit: Annotated[int | None, Field(ge=1, description="How many lines to return.")] = None


def read_file(args: ReadFileInput, ctx: ToolContext) -> str:
    path = resolve_inside(ctx.workdir, args.path)
    if not path.is_file():
        raise ToolError(f"no such file: {args.path}")
    if path.stat().st_size > MAX_READ_BYTES:
        raise ToolError(f"{args.path} is larger than {MAX_READ_BYTES} bytes; read it with bash (head, sed)")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
    end = None if args.limit is None else args.offset + args.limit
    return cap_text("".join(lines[args.offset : end]))


class WriteFileInput(ToolInput):
    path: Annotated[str, Field(min_length=1, description="File path relative to the working directory.")]
    content: Annotated[str, Field(max_length=MAX_WRITE_CHARS, description="The whole new content.")]


def write_file(args: WriteFileInput, ctx: ToolContext) -> str:
    path = resolve_inside(ctx.workdir, args.path)
    if path.is_dir():
        raise ToolError(f"{args.path} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(args.content, encoding="utf-8")
    return f"wrote {len(args.content.encode())} bytes to {relative_name(ctx.workdir, path)}"


class EditFileInput(ToolInput):
    path: Annotated[str, Field(min_length=1, description="File path relative to the working directory.")]
    old_string: Annotated[str, Field(min_length=1, description="Exact text to replace.")]
    new_string: Annotated[str, Field(description="Replacement text.")]
    replace_all: Annotated[bool, Field(description="Replace every occurrence, not just a unique one.")] = (
        False
    )


def edit_file(args: EditFileInput, ctx: ToolContext) -> str:
    path = resolve_inside(ctx.workdir, args.path)
    if not path.is_file():
        raise ToolError(f"no such file: {args.path}")
    if path.stat().st_size > MAX_READ_BYTES:
        raise ToolError(f"{args.path} is larger than {MAX_READ_BYTES} bytes; edit it with bash (sed)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ToolError(f"{args.path} is not UTF-8 text") from err
    count = text.count(args.old_string)
    if count == 0:
        raise ToolError("old_string was not found in the file")
    if count > 1 and not args.replace_all:
        raise ToolError(f"old_string occurs {count} times; make it unique or set replace_all")
    path.write_text(text.replace(args.old_string, args.new_string), encoding="utf-8")
    return f"replaced {count if args.replace_all else 1} occurrence(s) in {relative_name(ctx.workdir, path)}"


class ListFilesInput(ToolInput):
    pattern: Annotated[
        str, Field(min_length=1, description="Glob pattern, e.g. '**/*.py'. '**' matches any depth.")
    ] = "**/*"
    path: Annotated[
        str, Field(description="Directory to search from, relative to the working directory.")
    ] = "."


def _check_pattern(pattern: str) -> None:
    if pattern.startswith(("/", "\\")) or ".." in Path(pattern).parts:
        raise ToolError("the pattern must be relative and must not contain '..'")


def list_files(args: ListFilesInput, ctx: ToolContext) -> str:
    base = resolve_inside(ctx.workdir, args.path)
    if not base.is_dir():
        raise ToolError(f"no such directory: {args.path}")
    _check_pattern(args.pattern)
    root = ctx.workdir.resolve()
    names: list[str] = []
    for match in base.glob(args.pattern):
        # A symlink may point out of the workdir: list it only if it resolves inside.
        if not match.resolve().is_relative_to(root) or not match.is_file():
            continue
        names.append(match.relative_to(root).as_posix())
    names.sort()
    shown = names[:MAX_LIST_ENTRIES]
    more = f"\n[{len(names) - len(shown)} more files not shown]" if len(names) > len(shown) else ""
    # Long names (up to 4 KB each) would make even 1,000 entries far too much: capped in bytes too.
    return cap_bytes("\n".join(shown) if shown else "(no files match)") + more


class GrepInput(ToolInput):
    pattern: Annotated[
        str,
        Field(min_length=1, max_length=MAX_GREP_PATTERN_CHARS, description="Python regular expression."),
    ]
    path: Annotated[
        str, Field(description="File or directory to search, relative to the working directory.")
    ] = "."
    glob: Annotated[
        str | None, Field(description="Only files whose path matches this glob, e.g. '*.md'.")
    ] = None
    case_insensitive: bool = False


def _files_under(base: Path, root: Path) -> list[Path]:
    if base.is_file():
        return [base]
    found: list[Path] = []
    for directory, subdirs, files in os.walk(base, followlinks=False):
        subdirs.sort()
        for name in sorted(files):
            candidate = Path(directory, name)
            # Regular files only: opening a FIFO the model made with bash would block forever.
            if candidate.is_file() and candidate.resolve().is_relative_to(root):
                found.append(candidate)
    return found


def grep(args: GrepInput, ctx: ToolContext) -> str:
    """Search with the `regex` engine, whose matching stops at a timeout: a pattern that backtracks
    catastrophically (`(a|aa)+$`) ends at the call's time limit instead of holding the function."""
    root = ctx.workdir.resolve()
    base = resolve_inside(ctx.workdir, args.path)
    if not base.exists():
        raise ToolError(f"no such file or directory: {args.path}")
    try:
        pattern = regex.compile(args.pattern, regex.IGNORECASE if args.case_insensitive else 0)
    except (regex.error, ValueError, OverflowError, RecursionError) as err:
        raise ToolError(f"invalid regular expression: {err}") from err
    if args.glob:
        _check_pattern(args.glob)
    give_up_at = time.monotonic() + min(MAX_GREP_SECONDS, ctx.deadline() - DEADLINE_MARGIN_SECONDS)
    matches: list[str] = []
    for file in _files_under(base, root):
        if time.monotonic() >= give_up_at:
            matches.append("[stopped: no time left for this search]")
            break
        relative = file.relative_to(root)
        if args.glob and not (relative.match(args.glob) or file.match(args.glob)):
            continue
        if file.stat().st_size > MAX_GREP_FILE_BYTES:
            continue
        with file.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                text = line[:MAX_GREP_LINE_CHARS]
                try:
                    found = pattern.search(text, timeout=max(0.0, give_up_at - time.monotonic()))
                except TimeoutError:
                    matches.append(
                        f"[stopped: the pattern took too long on {relative.as_posix()}:{number}; "
                        "simplify it (nested repeats such as (a|aa)+ backtrack without end)]"
                    )
                    return cap_text("\n".join(matches), OUTPUT_CAP_CHARS)
                if found:
                    matches.append(f"{relative.as_posix()}:{number}: {text.rstrip()[:500]}")
                    if len(matches) >= MAX_GREP_MATCHES:
                        matches.append(f"[stopped after {MAX_GREP_MATCHES} matches]")
                        return cap_text("\n".join(matches), OUTPUT_CAP_CHARS)
    return cap_text("\n".join(matches), OUTPUT_CAP_CHARS) if matches else "(no matches)"


READ_FILE = LocalTool("read_file", "Read a text file from the working directory.", ReadFileInput, read_file)
WRITE_FILE = LocalTool(
    "write_file", "Create or overwrite a file in the working directory.", WriteFileInput, write_file
)
EDIT_FILE = LocalTool(
    "edit_file", "Replace an exact string in a file in the working directory.", EditFileInput, edit_file
)
LIST_FILES = LocalTool(
    "list_files", "List files in the working directory matching a glob pattern.", ListFilesInput, list_files
)
GREP = LocalTool(
    "grep", "Search file contents in the working directory with a regular expression.", GrepInput, grep
)
