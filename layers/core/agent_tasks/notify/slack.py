"""A Slack incoming-webhook message for an event (`notification_config.format: "slack"`).

Slack's incoming webhooks take `{"text": ..., "blocks": [...]}`: `text` is the fallback (push
notifications, clients without blocks), the blocks say the task, the status, the duration, the
cost, the start of the answer (or the structured output) and link the execution and its report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from agent_tasks.notify.events import NotificationEvent, TaskEvent
from agent_tasks.reports.view import format_duration

EXCERPT_CHARS = 600
_STATUS_EMOJI = {"completed": ":white_check_mark:", "failed": ":x:", "cancelled": ":no_entry_sign:"}
_TASK_EVENT_TITLES = {
    "SchedulePaused": "Schedule paused",
    "ModelRetiring": "Model retiring",
    "BudgetReached": "Budget reached",
    "ApprovalRequested": "Approval requested",
}


@dataclass(frozen=True)
class Links:
    """Where the message links to (the API's pages of the execution and its report)."""

    execution: str | None = None
    report: str | None = None


@dataclass(frozen=True)
class SlackMessage:
    """A Slack payload for one event, deliverable like the event (same id and type)."""

    event_id: str
    type: str
    payload: dict[str, Any]

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode("utf-8")


def _clip(text: str, limit: int = EXCERPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fields(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in pairs]}


def for_execution(event: NotificationEvent, links: Links) -> SlackMessage:
    task = event.task_name or event.task_id
    emoji = _STATUS_EMOJI.get(event.status, ":hourglass:")
    title = f"{emoji} {task}: {event.status}"
    cost = f"${event.cost_usd:.4f}" if event.cost_usd is not None else "-"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(f"{task}: {event.status}", 150)}},
        _fields(
            [
                ("Task", task),
                ("Status", event.status),
                ("Duration", format_duration(event.duration_seconds)),
                ("Cost", cost),
            ]
        ),
    ]
    if event.structured_output is not None:
        output = json.dumps(event.structured_output, indent=2, ensure_ascii=False)
        answer = f"```{_clip(output)}```"
    elif event.answer_excerpt:
        answer = _clip(event.answer_excerpt)
    elif event.error_message:
        answer = f"_{_clip(event.error_message)}_"
    else:
        answer = None
    if answer:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": answer}})
    link_texts = [
        f"<{url}|{name}>" for name, url in (("Execution", links.execution), ("Report", links.report)) if url
    ]
    if link_texts:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(link_texts)}]})
    return SlackMessage(event.event_id, event.type, {"text": title, "blocks": blocks})


def for_task_event(event: TaskEvent) -> SlackMessage:
    title = _TASK_EVENT_TITLES.get(event.type, event.type)
    task = str(event.detail.get("task_name") or event.task_id)
    said = {k: v for k, v in event.detail.items() if k not in ("task_id", "owner_id", "task_name", "event")}
    lines = [f"*{k}*: {_clip(str(v), 300)}" for k, v in said.items() if v is not None]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(f"{title}: {task}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines) or title, 2900)}},
    ]
    return SlackMessage(event.event_id, event.type, {"text": f"{title}: {task}", "blocks": blocks})
