"""What the model is offered: local tool schemas, server tools and the MCP connector's configuration."""

from __future__ import annotations

import copy
from typing import Any

from agent_tasks.agent.model_ids import base_model_id
from agent_tasks.agent.permissions import ToolPolicy
from agent_tasks.agent.tools import ToolRegistry
from agent_tasks.models.sdk_options import McpServer
from agent_tasks.models.transcript import TranscriptMessage

# Anthropic-run tools: the API executes them, the loop only offers them.
SERVER_TOOL_DEFINITIONS: dict[str, dict[str, Any]] = {
    "web_search": {"type": "web_search_20250305", "name": "web_search", "max_uses": 10},
    "web_fetch": {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 10},
}
_CACHEABLE_BLOCKS = frozenset({"text", "tool_result"})
_THINKING_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def tool_definitions(policy: ToolPolicy, registry: ToolRegistry) -> list[dict[str, Any]]:
    """Only permitted tools are offered, in a stable order (stable order keeps the prompt cache warm)."""
    local = [registry[name].definition() for name in sorted(policy.local) if name in registry]
    server = [SERVER_TOOL_DEFINITIONS[name] for name in sorted(policy.server)]
    toolsets = []
    for grant in policy.mcp:
        configs = {tool: {"enabled": True} for tool in sorted(grant.tools)}
        configs.update({tool: {"enabled": False} for tool in sorted(grant.denied)})
        toolset: dict[str, Any] = {
            "type": "mcp_toolset",
            "mcp_server_name": grant.server,
            "default_config": {"enabled": grant.all_tools},
        }
        if configs:
            toolset["configs"] = configs
        toolsets.append(toolset)
    return [*local, *server, *toolsets]


def mcp_server_definitions(policy: ToolPolicy, servers: list[McpServer]) -> list[dict[str, Any]]:
    """The MCP connector's `mcp_servers`, for servers with something permitted; tokens unwrapped here only."""
    granted = {grant.server for grant in policy.mcp}
    definitions = []
    for server in servers:
        if server.name not in granted:
            continue
        definition: dict[str, Any] = {"type": "url", "name": server.name, "url": str(server.url)}
        if server.authorization_token is not None:
            definition["authorization_token"] = server.authorization_token.get_secret_value()
        definitions.append(definition)
    return definitions


def _content_for(message: TranscriptMessage, model: str | None) -> list[dict[str, Any]]:
    """A message's blocks as stored: thinking blocks go back unchanged (signatures intact) to the model
    that wrote them, and are left out for another model (they are bound to the model that made them)."""
    if model is None or message.role != "assistant" or message.model is None:
        return list(message.content)
    if base_model_id(message.model) == base_model_id(model):
        return list(message.content)
    return [block for block in message.content if block.get("type") not in _THINKING_BLOCKS]


def api_messages(transcript: list[TranscriptMessage], model: str | None = None) -> list[dict[str, Any]]:
    """The transcript as Messages API `messages` for `model`: consecutive same-role messages merged
    (pause_turn), with cache breakpoints on the last block of the two newest user messages.

    The newest marker writes this turn's prefix for the next turn. The second sits exactly where
    the previous request's newest marker was, so this turn reads it from cache however many blocks
    the last turn added: a lookup walks back at most 20 blocks from a marker, and a turn of many
    parallel tool calls adds more than that."""
    messages: list[dict[str, Any]] = []
    for message in transcript:
        content = _content_for(message, model)
        if messages and messages[-1]["role"] == message.role:
            messages[-1]["content"] = [*messages[-1]["content"], *content]
        else:
            messages.append({"role": message.role, "content": content})
    users = [turn for turn in messages if turn["role"] == "user" and turn["content"]]
    for turn in users[-2:]:
        last = turn["content"][-1]
        if last.get("type") in _CACHEABLE_BLOCKS:
            marked = copy.copy(last)
            marked["cache_control"] = {"type": "ephemeral"}
            turn["content"] = [*turn["content"][:-1], marked]
    return messages
