"""Which tool names a task may name, and what each one is. No model code here: the API imports it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ToolKind = Literal["local", "server", "mcp"]


@dataclass(frozen=True, slots=True)
class ToolInfo:
    name: str
    kind: ToolKind
    read_only: bool
    edits_files: bool
    description: str


LOCAL_TOOLS: dict[str, ToolInfo] = {
    t.name: t
    for t in (
        ToolInfo("bash", "local", False, True, "Run a shell command in the session's working directory."),
        ToolInfo("read_file", "local", True, False, "Read a text file from the working directory."),
        ToolInfo("write_file", "local", False, True, "Create or overwrite a file in the working directory."),
        ToolInfo("edit_file", "local", False, True, "Replace an exact string in a file."),
        ToolInfo("list_files", "local", True, False, "List files matching a glob pattern."),
        ToolInfo("grep", "local", True, False, "Search file contents with a regular expression."),
        ToolInfo("http_request", "local", False, False, "Make an HTTP(S) request to a public address."),
    )
}

SERVER_TOOLS: dict[str, ToolInfo] = {
    t.name: t
    for t in (
        ToolInfo("web_search", "server", True, False, "Anthropic's server-side web search."),
        ToolInfo("web_fetch", "server", True, False, "Anthropic's server-side web fetch."),
    )
}

# Claude Code's tool names, accepted so tasks written for it carry over.
ALIASES: dict[str, str] = {
    "Bash": "bash",
    "Read": "read_file",
    "Write": "write_file",
    "Edit": "edit_file",
    "Glob": "list_files",
    "Grep": "grep",
    "WebFetch": "http_request",
    "WebSearch": "web_search",
}

MCP_TOOL_PATTERN = re.compile(r"^mcp__(?P<server>[A-Za-z0-9_-]+?)__(?P<tool>[A-Za-z0-9_-]+)$")
MCP_SERVER_WILDCARD = re.compile(r"^mcp__(?P<server>[A-Za-z0-9_-]+)$")


def known_tool_names() -> list[str]:
    """Every name a task may use, canonical names first, for error messages."""
    return [*LOCAL_TOOLS, *SERVER_TOOLS, *ALIASES]


def canonical_name(name: str) -> str | None:
    """The canonical name of a local or server tool or alias; None for MCP or unknown names."""
    if name in LOCAL_TOOLS or name in SERVER_TOOLS:
        return name
    return ALIASES.get(name)


def mcp_server_of(name: str) -> str | None:
    """The server an `mcp__<server>__<tool>` (or `mcp__<server>`, all its tools) name refers to."""
    match = MCP_TOOL_PATTERN.match(name) or MCP_SERVER_WILDCARD.match(name)
    return match.group("server") if match else None


def info(name: str) -> ToolInfo | None:
    canonical = canonical_name(name)
    if canonical is None:
        return None
    return LOCAL_TOOLS.get(canonical) or SERVER_TOOLS.get(canonical)
