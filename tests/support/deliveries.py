"""Delivery records written as the notifier writes them (no receiver needed)."""

from __future__ import annotations

from datetime import timedelta

from agent_tasks.models.common import utc_now
from agent_tasks.models.notifications import Delivery
from agent_tasks.store import deliveries as delivery_store


def earlier_deliveries(execution_id: str, count: int) -> list[str]:
    """`count` delivered attempts of other events of the execution (approval requests, say), a second
    apart and older than anything a test delivers; their event ids, oldest first."""
    start = utc_now() - timedelta(days=1)
    events = [f"earlier-event-{n:04d}" for n in range(count)]
    for n, event_id in enumerate(events):
        delivery_store.record(
            execution_id,
            Delivery(
                event_id=event_id,
                event_type="ApprovalRequested",
                destination="webhook",
                target="127.0.0.1",
                attempt=1,
                status="delivered",
                status_code=200,
                at=start + timedelta(seconds=n),
            ),
        )
    return events
