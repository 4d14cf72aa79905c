"""One-off backfill of the task indexes for tasks stored before they existed (issue 13).

Tasks written before the list indexes have no GSI1 keys (the list of all), no list index items
(`TASKLIST#<uid>#<facet>`), no model-use items (`MODELUSE#<model>`) and no counts item
(`USER#<uid>` / `TASKCOUNTS`). `run` writes them with the store's own functions
(`store/tasks.to_item`, `index_items`, `counts_item`), in two phases:

1. `tasks`: a Scan of the task items, a page at a time; each live task is written again at its own
   version with its index items, in one transaction (conditional: a task changed meanwhile was
   written by the new code, indexes and all, and gets no stale index item from the backfill; puts
   of the same item are harmless). The owners seen are kept.
2. `counts`: for each owner seen, every live task is read through the list of all (complete after
   phase 1) and the counts item is written whole: exact, whatever it held before.

Idempotent (a second run writes the same items) and resumable: the state (phase, the Scan's next
key, the owners seen and counted) is handed to `save` after every page and every owner; a run
given a saved state goes on from there. A task written by the service while phase 2 counts its
owner can leave that owner's counts off by one: run it again (or in a quiet hour) to be exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from agent_tasks import aws
from agent_tasks.models.tasks import facets_of
from agent_tasks.store import tasks as task_store
from agent_tasks.store.dynamo import (
    TransactionConflict,
    deserialize,
    raise_translated,
    serialize,
    table_name,
    transact,
    write_batch,
)


@dataclass
class BackfillState:
    phase: str = "tasks"  # then "counts", then "done"
    scan_key: dict[str, Any] | None = None
    owners: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    tasks_written: int = 0
    tasks_changed_meanwhile: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> BackfillState:
        return cls(**document)


def run(
    state: BackfillState | None = None,
    *,
    save: Callable[[BackfillState], None] = lambda state: None,
    page_size: int = 100,
) -> BackfillState:
    """Backfill from `state` (None: from the start) to the end; returns the final state."""
    state = state or BackfillState()
    while state.phase == "tasks":
        _backfill_page(state, page_size)
        save(state)
    if state.phase == "counts":
        counted = set(state.counted)
        for owner in state.owners:
            if owner not in counted:
                _count(owner)
                state.counted.append(owner)
                save(state)
        state.phase = "done"
        save(state)
    return state


def _backfill_page(state: BackfillState, page_size: int) -> None:
    arguments: dict[str, Any] = {
        "TableName": table_name(),
        "FilterExpression": "SK = :task AND entity = :entity",
        "ExpressionAttributeValues": {":task": {"S": "TASK"}, ":entity": {"S": "task"}},
        "Limit": page_size,
    }
    if state.scan_key:
        arguments["ExclusiveStartKey"] = state.scan_key
    try:
        page = aws.dynamodb().scan(**arguments)
    except ClientError as error:
        raise_translated(error)
    owners = dict.fromkeys(state.owners)
    for item in page.get("Items", []):
        task = task_store.from_item(deserialize(item))
        if task.is_deleted:
            continue
        # The task again (GSI1 keys and derived fields) and its index items, in one transaction
        # conditional on its version: at most 50 tags + 2 flags + 2 models + the task, under 100.
        index_puts = [
            {"Put": {"TableName": table_name(), "Item": serialize(entry)}}
            for entry in task_store.index_items(task)
        ]
        try:
            transact([task_store.put_version(task, task), *index_puts])
        except TransactionConflict:
            state.tasks_changed_meanwhile += 1  # the service wrote it since: with its indexes
            continue
        owners[task.owner_id] = None
        state.tasks_written += 1
    state.owners = list(owners)
    state.scan_key = page.get("LastEvaluatedKey")
    if state.scan_key is None:
        state.phase = "counts"


def _count(owner_id: str) -> None:
    counts: Counter[str] = Counter()
    for task in task_store.list_for_owner(owner_id):
        counts.update(facets_of(task))
    write_batch([serialize(task_store.counts_item(owner_id, dict(counts)))])
