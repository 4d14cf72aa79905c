"""Which tools a run may use: allowed_tools, disallowed_tools and permission_mode, enforced by the loop.

Modes: `default` and `acceptEdits` permit the allowed tools; `plan` only the read-only ones
among them; `bypassPermissions` every known tool. Disallowed tools are never permitted.
MCP tools run on Anthropic's side, so they are enforced by what the MCP connector is
configured to offer (plan mode offers none: their effects are unknown).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent_tasks.agent import catalog
from agent_tasks.models.sdk_options import McpServer, PermissionMode


@dataclass(frozen=True, slots=True)
class McpGrant:
    """What of one MCP server is offered: all its tools, or only `tools`, minus `denied`."""

    server: str
    all_tools: bool
    tools: frozenset[str] = frozenset()
    denied: frozenset[str] = frozenset()

    @property
    def offers_anything(self) -> bool:
        return self.all_tools or bool(self.tools - self.denied)


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    mode: PermissionMode
    local: frozenset[str]
    server: frozenset[str]
    mcp: tuple[McpGrant, ...] = ()
    allowed_names: frozenset[str] = frozenset()
    disallowed_names: frozenset[str] = frozenset()

    def denial_reason(self, name: str) -> str | None:
        """None when the model may call local tool `name` (any alias); else why not."""
        canonical = catalog.canonical_name(name)
        if canonical is None:
            return None  # unknown names are answered as unknown, not as denials
        if canonical in self.local or canonical in self.server:
            return None
        if canonical in self.disallowed_names:
            return f"permission denied: tool '{canonical}' is disallowed for this task"
        tool = catalog.info(canonical)
        if (
            self.mode == "plan"
            and canonical in self.allowed_names
            and tool is not None
            and not tool.read_only
        ):
            return f"permission denied: '{canonical}' is not read-only and the task runs in plan mode"
        return f"permission denied: tool '{canonical}' is not in this task's allowed tools"


def _canonical_set(names: Iterable[str]) -> frozenset[str]:
    return frozenset(c for c in (catalog.canonical_name(n) for n in names) if c is not None)


def _mcp_grants(
    servers: list[McpServer], allowed: list[str], disallowed: list[str], mode: PermissionMode
) -> tuple[McpGrant, ...]:
    if mode == "plan":
        return ()
    grants = []
    for server in servers:
        denied_all = f"mcp__{server.name}" in disallowed
        if denied_all:
            continue
        prefix = f"mcp__{server.name}__"
        denied = frozenset(n.removeprefix(prefix) for n in disallowed if n.startswith(prefix))
        whole = mode == "bypassPermissions" or f"mcp__{server.name}" in allowed
        tools = frozenset(n.removeprefix(prefix) for n in allowed if n.startswith(prefix))
        grant = McpGrant(server=server.name, all_tools=whole, tools=tools, denied=denied)
        if grant.offers_anything:
            grants.append(grant)
    return tuple(grants)


def resolve_policy(
    *,
    allowed_tools: list[str],
    disallowed_tools: list[str],
    permission_mode: PermissionMode,
    mcp_servers: list[McpServer] | None = None,
) -> ToolPolicy:
    allowed = _canonical_set(allowed_tools)
    disallowed = _canonical_set(disallowed_tools)
    if permission_mode == "bypassPermissions":
        candidates = frozenset(catalog.LOCAL_TOOLS) | frozenset(catalog.SERVER_TOOLS)
    elif permission_mode == "plan":
        candidates = frozenset(n for n in allowed if (t := catalog.info(n)) is not None and t.read_only)
    else:
        candidates = allowed
    permitted = candidates - disallowed
    return ToolPolicy(
        mode=permission_mode,
        local=frozenset(n for n in permitted if n in catalog.LOCAL_TOOLS),
        server=frozenset(n for n in permitted if n in catalog.SERVER_TOOLS),
        mcp=_mcp_grants(mcp_servers or [], allowed_tools, disallowed_tools, permission_mode),
        allowed_names=allowed,
        disallowed_names=disallowed,
    )
