"""The scripted provider: offline and deterministic, for the local default and demos.

It reads the prompt, calls a few of the tools it was offered in a fixed order (list the
files, write a notes file, read it back) and ends with a summary. No model is called.

A prompt may script calls of its own, one line each, made first and in order (for demos and
end-to-end tests of a tool): `scripted-call: <tool> <JSON input>`, e.g.
`scripted-call: bash {"command": "echo hello"}`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from agent_tasks.agent.model_api import ModelRequest, ModelResponse
from agent_tasks.models.transcript import ProviderName, Usage

NOTES_FILE = "agent-notes.md"
SCRIPTED_MODEL = "scripted"
PROMPT_EXCERPT_CHARS = 200
SCRIPTED_CALL = re.compile(
    r"^scripted-call:[ \t]*(?P<tool>[\w-]+)[ \t]+(?P<input>\{.*\})[ \t]*$", re.MULTILINE
)
SCRIPTED_CALL_ID = "toolu_scripted_call_"


def scripted_calls(prompt: str) -> list[tuple[str, dict[str, Any]]]:
    """The `scripted-call:` lines of a prompt, in order (a line whose input is no JSON object is skipped)."""
    calls = []
    for match in SCRIPTED_CALL.finditer(prompt):
        try:
            tool_input = json.loads(match.group("input"))
        except ValueError:
            continue
        if isinstance(tool_input, dict):
            calls.append((match.group("tool"), tool_input))
    return calls


def _tokens(value: object) -> int:
    """A fixed, repeatable stand-in for a token count: about four characters a token."""
    return math.ceil(len(json.dumps(value, sort_keys=True)) / 4)


def _prompt_of(messages: list[dict[str, Any]]) -> str:
    for message in messages:
        if message["role"] == "user":
            content = message["content"]
            if isinstance(content, str):
                return content
            return "\n".join(b.get("text", "") for b in content if b.get("type") == "text")
    return ""


class _Progress:
    """What the scripted run has done so far, read back from the conversation."""

    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.calls: dict[str, dict[str, Any]] = {}
        self.scripted_done = 0
        results: dict[str, dict[str, Any]] = {}
        for message in messages:
            content = message["content"]
            if isinstance(content, str):
                continue
            for block in content:
                if block.get("type") == "tool_use" and str(block.get("id", "")).startswith(SCRIPTED_CALL_ID):
                    self.scripted_done += 1
                elif block.get("type") == "tool_use":
                    self.calls[block["name"]] = block
                elif block.get("type") == "tool_result":
                    results[block["tool_use_id"]] = block
        self.results = {name: results.get(call["id"], {}) for name, call in self.calls.items()}

    def succeeded(self, name: str) -> bool:
        return name in self.results and not self.results[name].get("is_error", False)

    def output(self, name: str) -> str:
        content = self.results.get(name, {}).get("content", "")
        if isinstance(content, list):
            return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
        return str(content)


class ScriptedProvider:
    @property
    def name(self) -> ProviderName:
        return "scripted"

    def create_message(self, request: ModelRequest) -> ModelResponse:
        offered = {tool["name"] for tool in request.tools if "input_schema" in tool}
        progress = _Progress(request.messages)
        prompt = _prompt_of(request.messages)
        planned = scripted_calls(prompt)
        step = self._next_call(offered, progress, prompt)
        turn = len(progress.calls) + 1
        if progress.scripted_done < len(planned):
            name, tool_input = planned[progress.scripted_done]
            number = progress.scripted_done + 1
            content: list[dict[str, Any]] = [
                {"type": "text", "text": f"Scripted call {number}: {name}."},
                {
                    "type": "tool_use",
                    "id": f"{SCRIPTED_CALL_ID}{number:02d}",
                    "name": name,
                    "input": tool_input,
                },
            ]
            stop_reason = "tool_use"
        elif step is not None:
            name, tool_input = step
            content = [
                {"type": "text", "text": f"Step {turn}: {name}."},
                {"type": "tool_use", "id": f"toolu_scripted_{turn:02d}", "name": name, "input": tool_input},
            ]
            stop_reason = "tool_use"
        else:
            content = [{"type": "text", "text": self._summary(prompt, progress)}]
            stop_reason = "end_turn"
        usage = Usage(input_tokens=_tokens(request.messages), output_tokens=_tokens(content))
        return ModelResponse(content=content, usage=usage, stop_reason=stop_reason, model=SCRIPTED_MODEL)

    @staticmethod
    def _next_call(offered: set[str], progress: _Progress, prompt: str) -> tuple[str, dict[str, Any]] | None:
        if "list_files" in offered and "list_files" not in progress.calls:
            return "list_files", {"pattern": "**/*"}
        if "write_file" in offered and "write_file" not in progress.calls:
            notes = (
                "# Notes (scripted run)\n\nNo model was called; this file was written by the scripted "
                f"provider.\n\nTask prompt (first {PROMPT_EXCERPT_CHARS} characters):\n\n"
                f"> {prompt[:PROMPT_EXCERPT_CHARS]}\n"
            )
            return "write_file", {"path": NOTES_FILE, "content": notes}
        if "read_file" in offered and "read_file" not in progress.calls:
            if progress.succeeded("write_file"):
                return "read_file", {"path": NOTES_FILE}
            listed = [
                line for line in progress.output("list_files").splitlines() if line and line[0] not in "(["
            ]
            if progress.succeeded("list_files") and listed:
                return "read_file", {"path": listed[0], "limit": 50}
        return None

    @staticmethod
    def _summary(prompt: str, progress: _Progress) -> str:
        excerpt = prompt[:PROMPT_EXCERPT_CHARS] + ("…" if len(prompt) > PROMPT_EXCERPT_CHARS else "")
        done = []
        for name in progress.calls:
            state = "ok" if progress.succeeded(name) else "failed"
            done.append(f"{name} ({state})")
        tools = ", ".join(done) if done else "no tools"
        return (
            "Scripted run: no model was called, so this is not a real answer.\n"
            f"Task prompt: {excerpt}\n"
            f"Tools used: {tools}."
        )
