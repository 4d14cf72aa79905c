"""The decision on a call that waited for approval shows in the report, with the tool results."""

from __future__ import annotations

from datetime import UTC, datetime

from agent_tasks.models.transcript import TranscriptMessage
from agent_tasks.reports.view import approval_block


def test_a_decision_kept_with_the_tool_results_is_a_block_of_the_report() -> None:
    # Given the tool results message of a turn whose write_file a person denied
    message = TranscriptMessage(
        seq=3,
        role="user",
        content=[{"type": "tool_result", "tool_use_id": "t1", "content": "denied", "is_error": True}],
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
        approvals=[
            {"tool_use_id": "t1", "tool": "write_file", "decision": "deny", "reason": "freeze",
             "timed_out": False, "approval_id": "a1", "decided_by": "alice"}
        ],
    )  # fmt: skip
    # When the report's view is made of it
    [block] = [approval_block(a) for a in message.approvals or []]
    # Then it says who decided what, and why
    assert block.title == "Approval of write_file: denied by alice"
    assert block.body == "freeze"
    timed_out = approval_block({"tool": "bash", "decision": "approve", "timed_out": True})
    assert timed_out.title == "Approval of bash: approved on timeout"
