"""What every local tool shares: its context, its result, and how its input is checked."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from agent_tasks.scrub import NO_SECRETS, Scrubber

OUTPUT_CAP_CHARS = 30_000
OUTPUT_CAP_BYTES = 30_000
# Every local tool's result, whatever the tool, is cut to this many UTF-8 bytes before it enters
# the transcript (each tool's own cap, and the note saying what it left out, fit under it).
MAX_TOOL_RESULT_BYTES = 32_000


class ToolError(Exception):
    """An expected tool failure: its message goes back to the model as a tool error."""


@dataclass(frozen=True, slots=True)
class ToolContext:
    workdir: Path
    # Seconds left in the invocation's time budget: tools never run past it.
    deadline: Callable[[], float] = lambda: 3600.0
    allow_private_network: bool = False
    # The values of the secrets the task gives its tools (bash environment, http_request placeholders),
    # and the scrubber every tool result passes through (run_local_tool) before the model sees it.
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    scrubber: Scrubber = field(default=NO_SECRETS, repr=False)


@dataclass(frozen=True, slots=True)
class ToolOutput:
    text: str
    is_error: bool = False


class ToolInput(BaseModel):
    """Base of every tool's input model: unknown keys are an error the model can read."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


InputT = TypeVar("InputT", bound=ToolInput)


@dataclass(frozen=True, slots=True)
class LocalTool(Generic[InputT]):
    """A tool the loop runs itself: its name and schema as Claude sees them, and its run function."""

    name: str
    description: str
    input_model: type[InputT]
    run: Callable[[InputT, ToolContext], str]
    input_schema: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        object.__setattr__(self, "input_schema", schema)

    def definition(self) -> dict[str, Any]:
        """The Messages API tool definition."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


def cap_text(text: str, limit: int = OUTPUT_CAP_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[output truncated: {len(text) - limit} more characters not shown]"


def cap_bytes(text: str, limit: int = OUTPUT_CAP_BYTES) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (never inside a character), with a note if cut."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    kept = data[:limit].decode("utf-8", errors="ignore")
    return f"{kept}\n[output truncated: {len(data) - len(kept.encode())} more bytes not shown]"
