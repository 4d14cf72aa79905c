"""A realistic ReportDocument for report tests: a multi-turn run with tool calls and hostile text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent_tasks.models.transcript import ToolCallRecord, TranscriptMessage, Usage
from agent_tasks.reports.document import (
    ReportDocument,
    ReportExecution,
    ReportResult,
    ReportTask,
    ToolCallSummary,
)

TASK_NAME = "Nightly deploy check — Zürich"
FINAL_ANSWER = "All 3 services are healthy. Latency p95: 120 ms (Zürich — €0.02 per 1k requests)."
HOSTILE_TEXT = "<script>alert(1)</script> and a stray </details> and ```python\nprint('fence')\n```"
NON_LATIN1 = "Zürich — 東京 € Ωμέγα Привет"

START = datetime(2025, 6, 1, 8, 0, 0, tzinfo=UTC)


def _message(seq: int, role: str, content: list[dict[str, Any]], **extra: Any) -> TranscriptMessage:
    return TranscriptMessage.model_validate(
        {
            "seq": seq,
            "role": role,
            "content": content,
            "created_at": START + timedelta(seconds=5 * seq),
            **extra,
        }
    )


def make_transcript() -> list[TranscriptMessage]:
    return [
        _message(1, "user", [{"type": "text", "text": "Check the api-gateway deployment in prod."}]),
        _message(
            2,
            "assistant",
            [
                {"type": "text", "text": "I will list the services first."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "bash",
                    "input": {"command": "svc list --env prod"},
                },
            ],
            usage={"input_tokens": 1200, "output_tokens": 80},
            model="claude-sonnet-5-5",
            stop_reason="tool_use",
        ),
        _message(
            3,
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": "api-gateway\tok\nbilling\tok\nsearch\tok",
                }
            ],
        ),
        _message(
            4,
            "assistant",
            [
                {"type": "text", "text": f"Service names look odd: {HOSTILE_TEXT}"},
                {
                    "type": "tool_use",
                    "id": "toolu_02",
                    "name": "http_request",
                    "input": {"url": "https://status.example.com/api", "method": "GET"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_03",
                    "name": "write_file",
                    "input": {"path": "x", "content": "y"},
                },
            ],
            usage={"input_tokens": 1500, "output_tokens": 140},
            model="claude-sonnet-5-5",
            stop_reason="tool_use",
        ),
        _message(
            5,
            "user",
            [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_02",
                    "content": [{"type": "text", "text": f'{{"p95_ms": 120, "region": "{NON_LATIN1}"}}'}],
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_03",
                    "content": "permission denied: write_file is not allowed for this task",
                    "is_error": True,
                },
            ],
        ),
        _message(
            6,
            "assistant",
            [{"type": "text", "text": FINAL_ANSWER}],
            usage={"input_tokens": 1900, "output_tokens": 60, "cache_read_input_tokens": 900},
            model="claude-sonnet-5-5",
            stop_reason="end_turn",
        ),
    ]


def make_report_document(**overrides: Any) -> ReportDocument:
    transcript = make_transcript()
    denial = ToolCallRecord(
        tool_use_id="toolu_03", name="write_file", is_error=True, permission_denied=True, turn=2
    )
    fields: dict[str, Any] = {
        "generated_at": START + timedelta(minutes=2),
        "task": ReportTask(
            id="0b7c6f0e-3a57-4d55-9a53-2f3a6a1d0c11",
            name=TASK_NAME,
            description="Checks prod services every night & reports <anything> odd.",
            version=3,
        ),
        "execution": ReportExecution(
            id="9d1e2c3b-4a5f-4e6d-8c7b-1a2b3c4d5e6f",
            status="completed",
            trigger_type="scheduled",
            trigger_metadata={"slot": "2025-06-01T08:00:00Z"},
            session_id="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9",
            created_at=START,
            started_at=START + timedelta(seconds=2),
            completed_at=START + timedelta(seconds=95),
            duration_seconds=93.4,
        ),
        "prompt": "Check the api-gateway deployment in prod.\nReport anything unusual.",
        "variables": {"service": "api-gateway", "env": "prod", "limits": {"p95_ms": 200}},
        "result": ReportResult(final_text=FINAL_ANSWER, outcome="completed"),
        "transcript": transcript,
        "tool_calls": ToolCallSummary.from_transcript(transcript, [denial]),
        "usage": Usage(input_tokens=4600, output_tokens=280, cache_read_input_tokens=900),
        "cost_usd": 0.01803,
        "provider": "scripted",
        "model": "claude-sonnet-5-5",
    }
    fields.update(overrides)
    return ReportDocument(**fields)
