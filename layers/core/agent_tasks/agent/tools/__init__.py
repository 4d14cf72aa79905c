"""The local tools the loop runs itself, and the one function that runs any of them safely."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from agent_tasks.agent.tools.base import (
    MAX_TOOL_RESULT_BYTES,
    LocalTool,
    ToolContext,
    ToolError,
    ToolOutput,
    cap_bytes,
)
from agent_tasks.agent.tools.bash import BASH
from agent_tasks.agent.tools.files import EDIT_FILE, GREP, LIST_FILES, READ_FILE, WRITE_FILE
from agent_tasks.agent.tools.http import HTTP_REQUEST
from agent_tasks.observability import logger

ToolRegistry = Mapping[str, LocalTool[Any]]

LOCAL_TOOL_IMPLEMENTATIONS: ToolRegistry = {
    tool.name: tool for tool in (BASH, READ_FILE, WRITE_FILE, EDIT_FILE, LIST_FILES, GREP, HTTP_REQUEST)
}

__all__ = [
    "LOCAL_TOOL_IMPLEMENTATIONS",
    "LocalTool",
    "ToolContext",
    "ToolError",
    "ToolOutput",
    "ToolRegistry",
    "run_local_tool",
]


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "input"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def run_local_tool(tool: LocalTool[Any], raw_input: object, ctx: ToolContext) -> ToolOutput:
    """Validate `raw_input` against the tool's schema and run it; every failure is a ToolOutput error.
    The result, error or not, is scrubbed of the run's secret values and then capped in bytes (in
    that order, so a cut never leaves part of a value unscrubbed) before it can enter the transcript."""
    output = _run_local_tool(tool, raw_input, ctx)
    if ctx.scrubber:
        output = ToolOutput(ctx.scrubber.scrub(output.text), output.is_error)
    if len(output.text) * 4 <= MAX_TOOL_RESULT_BYTES:  # cannot be over: skip encoding it
        return output
    return ToolOutput(cap_bytes(output.text, MAX_TOOL_RESULT_BYTES), output.is_error)


def _run_local_tool(tool: LocalTool[Any], raw_input: object, ctx: ToolContext) -> ToolOutput:
    if not isinstance(raw_input, dict):
        return ToolOutput(f"invalid input for {tool.name}: expected a JSON object", is_error=True)
    try:
        args = tool.input_model.model_validate(raw_input)
    except ValidationError as err:
        return ToolOutput(f"invalid input for {tool.name}: {_describe(err)}", is_error=True)
    try:
        return ToolOutput(tool.run(args, ctx))
    except ToolError as err:
        return ToolOutput(str(err), is_error=True)
    except OSError as err:
        return ToolOutput(f"{tool.name} failed: {err.strerror or err}", is_error=True)
    except Exception as err:  # noqa: BLE001 - a tool failure must reach the model, never crash the loop
        logger.warning(
            "tool raised unexpectedly", extra={"tool": tool.name, "error_type": type(err).__name__}
        )
        return ToolOutput(f"{tool.name} failed: {type(err).__name__}", is_error=True)
