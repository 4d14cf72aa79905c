"""A tick's cost grows with the tasks that are due, not with the tasks stored."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks import aws
from agent_tasks.adapters import InMemoryWorkflows
from agent_tasks.schedules import slot_execution_id
from agent_tasks.services import executions as execution_service
from agent_tasks.services.scheduler import tick
from tests.support.schedules import batch_put_tasks, scheduled_task_model

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STORED = 5_000
DUE = 10


class DynamoReads:
    """Counts calls and the items DynamoDB returns, per operation and index, from botocore's own hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self._index: list[str] = []

    def before(self, params: dict[str, Any], **_: Any) -> None:
        self._index.append(str(params.get("IndexName", "table")))

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        name = f"{model.name}:{self._index.pop(0)}" if model.name == "Query" else model.name
        self.calls[name] += 1
        if "Items" in parsed:
            self.items[name] += len(parsed["Items"])
        elif "Item" in parsed:
            self.items[name] += 1


@pytest.mark.slow  # a benchmark: `make bench` runs it, the default unit run leaves it out
def test_a_tick_over_5000_scheduled_tasks_with_10_due_reads_about_10_items(
    workflows: InMemoryWorkflows, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto copies the whole table for every TransactWriteItems (seconds at 5,000 items), and writing
    # executions reads nothing: record the starts instead, so this test measures only the reads.
    started: list[str] = []
    monkeypatch.setattr(
        execution_service,
        "create_and_start",
        lambda task, variables, **kwargs: started.append(kwargs["execution_id"]),
    )
    # Given 5,000 scheduled tasks, of which 10 are due at 09:00 and the rest tomorrow or later
    created = T0 - timedelta(minutes=1)
    due = [scheduled_task_model("0 9 * * *", created=created, overlap_policy="allow") for _ in range(DUE)]
    tomorrow = scheduled_task_model("0 9 * * *", created=T0 + timedelta(hours=1))
    later = [
        tomorrow.model_copy(update={"id": str(uuid.uuid4()), "name": f"Later {n}"})
        for n in range(STORED - DUE)
    ]
    batch_put_tasks(due + later)
    reads = DynamoReads()
    client = aws.dynamodb()
    client.meta.events.register("provide-client-params.dynamodb.Query", reads.before)
    client.meta.events.register("after-call.dynamodb", reads.after)
    try:
        # When the 09:00 tick runs
        summary = tick(T0, rule="tick")
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.Query", reads.before)
        client.meta.events.unregister("after-call.dynamodb", reads.after)
    # Then it read the 10 due entries of the index (and each due task once), nothing of the other 4,990
    gsi2_items = reads.items["Query:GSI2"]
    print(
        f"\n{STORED} scheduled, {DUE} due: due-index items read {gsi2_items} "
        f"(summary {summary.items_read}) in {reads.calls['Query:GSI2']} queries; "
        f"GetItem {reads.calls['GetItem']}; all items returned {sum(reads.items.values())}"
    )
    assert gsi2_items == summary.items_read == DUE
    assert reads.calls["GetItem"] == DUE
    assert sum(reads.items.values()) <= 3 * DUE
    assert (summary.due, summary.started) == (DUE, DUE)
    assert sorted(started) == sorted(slot_execution_id(task.id, T0) for task in due)
