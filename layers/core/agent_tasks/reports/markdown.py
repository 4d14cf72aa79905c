"""The markdown report: the same content as the html page, as plain CommonMark.

Free text (prompt, answers, tool input and output) goes into fenced code blocks whose fence is
longer than any run of backticks inside the text, so no content can close its block, start a
heading or inject HTML. Short values (names, ids, errors) are escaped inline and kept on one line.
"""

from __future__ import annotations

import re

from agent_tasks.reports.document import ReportDocument
from agent_tasks.reports.view import ReportView, ViewFact, build_view

_INLINE_SPECIALS = re.compile(r"([\\`*_\[\]<>|~&#!])")
_BACKTICK_RUNS = re.compile(r"`+")


def escape_inline(text: str) -> str:
    """Escape `text` for use inside a line or table cell (newlines become spaces)."""
    one_line = " ".join(text.split())
    return _INLINE_SPECIALS.sub(r"\\\1", one_line)


def fenced(text: str, info: str = "text") -> str:
    """A fenced code block that `text` cannot break out of."""
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{info}\n{body}{fence}"


def _table(facts: list[ViewFact], header: tuple[str, str]) -> list[str]:
    lines = [f"| {header[0]} | {header[1]} |", "| --- | --- |"]
    lines += [f"| {escape_inline(fact.label)} | {escape_inline(fact.value)} |" for fact in facts]
    return lines


def _transcript(view: ReportView) -> list[str]:
    if not view.messages:
        return ["_No messages were recorded._"]
    lines: list[str] = []
    for message in view.messages:
        lines += [f"### {message.seq}. {message.role} · {message.created_at}", ""]
        for block in message.blocks:
            if block.kind == "text":
                lines += [fenced(block.body, "markdown"), ""]
            else:
                lines += [f"**{escape_inline(block.title)}**", "", fenced(block.body), ""]
    return lines


def render_markdown(document: ReportDocument) -> str:
    view = build_view(document)
    lines = [f"# {escape_inline(view.title)}", ""]
    if view.description:
        lines += [escape_inline(view.description), ""]
    lines += ["## Summary", "", *_table(view.summary, ("Field", "Value")), ""]
    if view.error_message:
        lines += ["**Error**", "", fenced(view.error_message), ""]
    lines += ["## Prompt", "", fenced(view.prompt), ""]
    if view.variables:
        lines += ["**Variables**", "", *_table(view.variables, ("Name", "Value")), ""]
    lines += ["## Result", ""]
    if view.final_text is not None:
        lines += [fenced(view.final_text, "markdown"), ""]
    else:
        lines += ["_The agent gave no final answer._", ""]
    if view.structured_output is not None:
        lines += ["Structured output:", "", fenced(view.structured_output, "json"), ""]
    if view.outcome:
        lines += [f"Agent loop outcome: {escape_inline(view.outcome)}", ""]
    lines += ["## Transcript", "", *_transcript(view)]
    lines += ["## Usage and cost", "", *_table(view.usage, ("Measure", "Value")), ""]
    lines += [*_table(view.tool_usage, ("Tool", "Calls")), ""]
    if view.denials:
        lines += ["Refused tool calls: " + escape_inline(", ".join(view.denials)), ""]
    footer = f"_Generated {view.generated_at} by Agent Tasks · report schema {document.schema_version}_"
    lines += ["---", "", footer]
    return "\n".join(lines) + "\n"
