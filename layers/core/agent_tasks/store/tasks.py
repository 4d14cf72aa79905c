"""Task items, their name locks, their list indexes and their place in the due-schedule index.

task        PK=TASK#<id>                 SK=TASK                 GSI1=USER#<uid> / TASK#<created>#<id>
                                                                  (live tasks only: the list of all)
                                                                 GSI2=DUE#<shard> / <next_run_at>#<id>
name lock   PK=USER#<uid>                SK=TASKNAME#<lower name>
list index  PK=TASKLIST#<uid>#<facet>    SK=<created>#<id>        one per live task and facet it has
                                                                  (tag=<t>, active=<b>, scheduled=<b>)
model use   PK=MODELUSE#<model>          SK=TASK#<id>            one per live task and model it uses
                                                                  (model, fallback; base ids): the daily
                                                                  retiring-model check reads these
counts      PK=USER#<uid>                SK=TASKCOUNTS           GSI1=USER#<uid> / TASK#~counts
                                                                  how many live tasks per facet

Lists are paged here: a page reads about a page of items whatever the user has stored. Index items
and counts are written in the same transaction as the task, so a list never misses a task and a
total is exact. A page reads the list of all (GSI1, whose first item from the top is the counts item)
or one facet's index items and then their tasks (BatchGetItem); the other filters are checked on
the tasks read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent_tasks.errors import ConflictError, DomainError, NotFoundError, PreconditionFailedError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import STORED_CONTEXT
from agent_tasks.models.tasks import Task, TaskFilters, facets_of
from agent_tasks.settings import get_settings
from agent_tasks.store.audit import put_audit_item
from agent_tasks.store.dynamo import (
    TransactionConflict,
    batch_get,
    get_item,
    query_page,
    query_pages,
    raise_conflict,
    serialize,
    table_name,
    transact,
    write_batch,
)

MAX_TRANSACTION_ITEMS = 100
COUNTS_SORT_KEY = "TASK#~counts"  # sorts after every TASK#<created>#<id>: first from the top


def task_key(task_id: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"TASK#{task_id}"}, "SK": {"S": "TASK"}}


def name_lock_key(owner_id: str, name: str) -> dict[str, dict[str, str]]:
    return {"PK": {"S": f"USER#{owner_id}"}, "SK": {"S": f"TASKNAME#{name.casefold()}"}}


def _due_keys(task: Task) -> dict[str, str]:
    if not task.is_due_indexed or (task.next_run_at is None and task.pending_slot is None):
        return {}
    from agent_tasks.schedules import due_partition_key, due_shard, due_sort_key

    shard = due_shard(task.id, get_settings().due_shards)
    # A claimed but unfinished slot keeps the task due at that slot (services/scheduler.py).
    from agent_tasks.schedules.jitter import due_at as jittered

    # (A one-time schedule has no next_run_at once its slot is claimed.)
    if task.pending_slot is not None:
        due_at = task.pending_slot.slot
    else:
        assert task.next_run_at is not None
        due_at = jittered(task.id, task.next_run_at, task.jitter_seconds)
    return {"GSI2PK": due_partition_key(shard), "GSI2SK": due_sort_key(due_at, task.id)}


def to_item(task: Task) -> dict[str, Any]:
    body = task.model_dump(mode="json", exclude={"webhook_secret"})
    # Secrets are stored; answers never show them (SecretStr masks them when serialised for output).
    for server, stored in zip(task.sdk_options.mcp_servers, body["sdk_options"]["mcp_servers"], strict=True):
        token = server.authorization_token
        stored["authorization_token"] = token.get_secret_value() if token else None
    listed = (
        {}
        if task.is_deleted
        else {"GSI1PK": _list_partition(task.owner_id)[1], "GSI1SK": _list_sort_key(task)}
    )
    return {
        "PK": f"TASK#{task.id}",
        "SK": "TASK",
        "entity": "task",
        **listed,
        **_due_keys(task),
        **body,
        "template_variables": task.variables(),  # derived once, when written
        "webhook_secret": task.webhook_secret,
    }


def from_item(item: dict[str, Any]) -> Task:
    """The task as stored: typed, not judged again by today's input rules."""
    return Task.model_validate(item, context=STORED_CONTEXT)


def _lock_item(task: Task) -> dict[str, Any]:
    return {
        "PK": f"USER#{task.owner_id}",
        "SK": f"TASKNAME#{task.name.casefold()}",
        "entity": "task_name_lock",
        "task_id": task.id,
        "owner_id": task.owner_id,
    }


def _put_new(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table_name(),
            "Item": serialize(item),
            "ConditionExpression": "attribute_not_exists(PK)",
        }
    }


def put_version(old: Task, new: Task) -> dict[str, Any]:
    """Write `new` over `old` only if the stored task is still at old's version and as deleted as old."""
    return {
        "Put": {
            "TableName": table_name(),
            "Item": serialize(to_item(new)),
            "ConditionExpression": "#version = :expected AND is_deleted = :deleted",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {
                ":expected": {"N": str(old.version)},
                ":deleted": {"BOOL": old.is_deleted},
            },
        }
    }


def _name_taken(name: str) -> tuple[type[DomainError], str]:
    return ConflictError, f"you already have a task named {name!r} (names are unique, ignoring case)"


def create(task: Task, audit: AuditEvent) -> None:
    """Task, name lock, audit event and list indexes in one transaction: all or none."""
    _write(
        [_put_new(to_item(task)), _put_new(_lock_item(task)), put_audit_item(audit)],
        None,
        task,
        [(ConflictError, "a task with this id already exists"), _name_taken(task.name)],
    )


def get(task_id: str) -> Task | None:
    """The task, deleted or not (callers decide what a deleted task means)."""
    item = get_item(task_key(task_id))
    return from_item(item) if item else None


# ---------------------------------------------------------------- list indexes


def _list_partition(owner_id: str) -> tuple[str, str]:
    return "GSI1PK", f"USER#{owner_id}"


def _list_sort_key(task: Task) -> str:
    return f"TASK#{task.created_at.isoformat()}#{task.id}"


def _facet_partition(owner_id: str, facet: str) -> tuple[str, str]:
    return "PK", f"TASKLIST#{owner_id}#{facet}"


def _counts_id(owner_id: str) -> dict[str, str]:
    return {"PK": f"USER#{owner_id}", "SK": "TASKCOUNTS"}


def _counts_key(owner_id: str) -> dict[str, Any]:
    return serialize(_counts_id(owner_id))


def _count_attribute(facet: str) -> str:
    return f"n:{facet}"


def _index_key(task: Task, partition: str) -> dict[str, str]:
    if partition.startswith("MODELUSE#"):
        return {"PK": partition, "SK": f"TASK#{task.id}"}
    return {"PK": partition, "SK": f"{task.created_at.isoformat()}#{task.id}"}


def _index_partitions(task: Task | None) -> set[str]:
    """The index partitions a stored task has an item in: its list facets (none once deleted; `all`
    is counted, not indexed) and the models it uses (for the daily retiring-model check)."""
    if task is None or task.is_deleted:
        return set()
    return {_facet_partition(task.owner_id, facet)[1] for facet in facets_of(task) - {"all"}} | {
        _model_partition(model) for model in models_used(task)
    }


def models_used(task: Task) -> set[str]:
    """The base ids of the task's model and fallback model."""
    from agent_tasks.agent.model_ids import base_model_id

    used = (task.sdk_options.model, task.sdk_options.fallback_model)
    return {base_model_id(model) for model in used if model}


def _model_partition(model: str) -> str:
    return f"MODELUSE#{model}"


def index_items(task: Task) -> list[dict[str, Any]]:
    """The index items a live task has (none for a deleted one): written with it, and by the
    backfill of tasks stored before the indexes existed (scripts/backfill_task_index.py)."""
    return [
        {**_index_key(task, partition), "entity": "task_index", "task_id": task.id, "owner_id": task.owner_id}
        for partition in sorted(_index_partitions(task))
    ]


def counts_item(owner_id: str, counts: dict[str, int]) -> dict[str, Any]:
    """The counts item as a whole, for counts taken by reading every task (the backfill)."""
    return {
        **_counts_id(owner_id),
        "GSI1PK": _list_partition(owner_id)[1],
        "GSI1SK": COUNTS_SORT_KEY,
        "entity": "task_counts",
        **{_count_attribute(facet): number for facet, number in counts.items()},
    }


def _index_changes(old: Task | None, new: Task | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The transaction entries that move a task's index items and counts from `old` to `new`
    (None: not stored / gone): (puts and the counts update, deletes)."""
    task = new or old
    assert task is not None
    before = {item["PK"]: item for item in index_items(old)} if old is not None else {}
    after = {item["PK"]: item for item in index_items(new)} if new is not None else {}
    writes: list[dict[str, Any]] = [
        {"Put": {"TableName": table_name(), "Item": serialize(after[partition])}}
        for partition in sorted(after.keys() - before.keys())
    ]
    deletes = [
        {"Delete": {"TableName": table_name(), "Key": serialize(_index_key(task, partition))}}
        for partition in sorted(before.keys() - after.keys())
    ]
    facets_before = facets_of(old) if old is not None else set()
    facets_after = facets_of(new) if new is not None else set()
    deltas = dict.fromkeys(facets_after - facets_before, 1) | dict.fromkeys(facets_before - facets_after, -1)
    if deltas:
        names = {f"#c{index}": _count_attribute(facet) for index, facet in enumerate(sorted(deltas))}
        values = {f":d{index}": {"N": str(deltas[facet])} for index, facet in enumerate(sorted(deltas))}
        adds = ", ".join(f"#c{index} :d{index}" for index in range(len(deltas)))
        writes.append(
            {
                "Update": {
                    "TableName": table_name(),
                    "Key": _counts_key(task.owner_id),
                    "UpdateExpression": f"SET GSI1PK = :gpk, GSI1SK = :gsk, entity = :entity ADD {adds}",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {
                        **values,
                        ":gpk": {"S": _list_partition(task.owner_id)[1]},
                        ":gsk": {"S": COUNTS_SORT_KEY},
                        ":entity": {"S": "task_counts"},
                    },
                }
            }
        )
    return writes, deletes


def _write(
    items: list[dict[str, Any]],
    old: Task | None,
    new: Task | None,
    meanings: Sequence[type[DomainError] | tuple[type[DomainError], str]],
) -> None:
    """The task's own entries (`items`: their conditions map to `meanings`, in order) with its list
    index changes, in one transaction. Index deletes that do not fit (a PATCH replacing most of 50
    tags) follow it: a stale index item costs a list one read, never a wrong answer (pages check
    each task they read)."""
    writes, deletes = _index_changes(old, new)
    entries = [*items, *writes]
    inline = deletes if len(entries) + len(deletes) <= MAX_TRANSACTION_ITEMS else []
    try:
        transact([*entries, *inline])
    except TransactionConflict as conflict:
        raise_conflict(conflict.reasons, meanings)
    if deletes and not inline:
        write_batch([entry["Delete"]["Key"] for entry in deletes], delete=True)


@dataclass(frozen=True)
class TaskPage:
    tasks: list[Task]
    next_key: dict[str, Any] | None  # where the next page starts (None: this is the last)
    total: int | None  # how many tasks match, when this read told (the first page of the list of all)


def _facet_to_read(filters: TaskFilters) -> str | None:
    """One indexed facet to read (None: the list of all); the other filters are checked on the tasks."""
    facets = filters.facets()
    return facets[0] if facets else None


def cursor_key_shape(owner_id: str, filters: TaskFilters) -> dict[str, str]:
    """The keys a tasks list's cursor may hold (services/paging.decode_cursor)."""
    facet = _facet_to_read(filters)
    if facet is None:
        return {"PK": "TASK#*", "SK": "TASK", "GSI1PK": f"USER#{owner_id}", "GSI1SK": "TASK#*"}
    return {"PK": _facet_partition(owner_id, facet)[1], "SK": "*"}


def _row_key(row: dict[str, Any], facet: str | None) -> dict[str, Any]:
    names = ("PK", "SK") if facet is not None else ("PK", "SK", "GSI1PK", "GSI1SK")
    return {name: {"S": row[name]} for name in names}


def list_page(
    owner_id: str, filters: TaskFilters, *, size: int, start_key: dict[str, Any] | None
) -> TaskPage:
    """One page of a user's live tasks matching `filters`, newest first, after `start_key`.

    Reads `size + 1` list entries (one more, to know whether a next page exists), and more only
    while entries fail the filters that were not the one read (q, or a second filter)."""
    facet = _facet_to_read(filters)
    partition = _facet_partition(owner_id, facet) if facet else _list_partition(owner_id)
    prefix, index = ("", None) if facet else ("TASK#", "GSI1")
    found: list[Task] = []
    total: int | None = None
    key = start_key
    last_found_key: dict[str, Any] | None = None
    while True:
        counted = facet is None and key is None  # the counts item comes first from the top
        rows, more = query_page(
            partition, prefix, index=index, limit=size + 1 - len(found) + counted, start_key=key
        )
        if counted and rows and rows[0]["SK"] == "TASKCOUNTS":
            counts = rows.pop(0)
            if not _facets_filtered(filters):
                total = int(counts.get(_count_attribute("all"), 0))
        tasks = _tasks_of(rows) if facet else {row["id"]: from_item(row) for row in rows}
        for row in rows:
            task = tasks.get(row["task_id"] if facet else row["id"])
            if task is None or task.owner_id != owner_id or task.is_deleted or not filters.matches(task):
                continue  # a stale index item, or one a further filter leaves out
            if len(found) == size:
                return TaskPage(found, last_found_key, total)
            found.append(task)
            last_found_key = _row_key(row, facet)
        if more is None:
            return TaskPage(found, None, total)
        key = more


def _facets_filtered(filters: TaskFilters) -> bool:
    return bool(filters.facets() or filters.q)


def _tasks_of(rows: list[dict[str, Any]]) -> dict[str, Task]:
    if not rows:
        return {}
    items = batch_get([task_key(row["task_id"]) for row in rows])
    return {item["id"]: from_item(item) for item in items}


def list_for_owner(owner_id: str) -> list[Task]:
    """Every live task of a user, newest first (reads them all: for checks over the whole set)."""
    tasks: list[Task] = []
    key = None
    while True:
        page = list_page(owner_id, TaskFilters(), size=100, start_key=key)
        tasks.extend(page.tasks)
        if page.next_key is None:
            return tasks
        key = page.next_key


def count_matching(owner_id: str, filters: TaskFilters) -> int:
    """How many live tasks match: the counts item (one read) for no filter or one facet filter; with
    `q` or several filters, by reading the list (cost grows with the tasks matching the facet read)."""
    facets = filters.facets()
    if not filters.q and len(facets) <= 1:
        counts = get_item(_counts_key(owner_id)) or {}
        return int(counts.get(_count_attribute(facets[0] if facets else "all"), 0))
    total, key = 0, None
    while True:
        page = list_page(owner_id, filters, size=100, start_key=key)
        total += len(page.tasks)
        if page.next_key is None:
            return total
        key = page.next_key


def replace(old: Task, new: Task, audit: AuditEvent) -> None:
    """Write a new version of a task, conditional on the version read; moves the name lock if renamed."""
    items = [put_version(old, new), put_audit_item(audit)]
    if old.name.casefold() != new.name.casefold():
        items.append(_put_new(_lock_item(new)))
        items.append(
            {
                "Delete": {
                    "TableName": table_name(),
                    "Key": name_lock_key(old.owner_id, old.name),
                    "ConditionExpression": "task_id = :task",
                    "ExpressionAttributeValues": {":task": {"S": old.id}},
                }
            }
        )
    _write(
        items,
        old,
        new,
        [
            (
                PreconditionFailedError,
                "the task has changed since it was read (version mismatch); read it again",
            ),
            ConflictError,
            _name_taken(new.name),
            ConflictError,
        ],
    )


def soft_delete(old: Task, deleted: Task, audit: AuditEvent) -> None:
    """Mark deleted (out of lists and the due index), free its name; executions are kept."""
    _write(
        [
            put_version(old, deleted),
            {"Delete": {"TableName": table_name(), "Key": name_lock_key(old.owner_id, old.name)}},
            put_audit_item(audit),
        ],
        old,
        deleted,
        [(PreconditionFailedError, "the task has changed since it was read; read it again")],
    )


def restore(old: Task, restored: Task, audit: AuditEvent) -> None:
    """Bring a deleted task back: live again, its name taken again (409 if it is in use now)."""
    _write(
        [put_version(old, restored), _put_new(_lock_item(restored)), put_audit_item(audit)],
        old,
        restored,
        [
            (PreconditionFailedError, "the task has changed since it was read; read it again"),
            (ConflictError, f"you now have another task named {restored.name!r}; rename that one first"),
        ],
    )


def live_tasks_using(models: set[str]) -> list[Task]:
    """Live tasks whose model or fallback model is one of `models` (base ids), by id: reads those
    models' model-use items and their tasks, never the whole table."""
    found: dict[str, Task] = {}
    for model in sorted(models):
        for rows in query_pages(("PK", _model_partition(model)), "TASK#", page_size=100):
            for task in _tasks_of(rows).values():
                if not task.is_deleted and models_used(task) & models:
                    found[task.id] = task  # a stale item (model changed since) costs a read only
    return [found[task_id] for task_id in sorted(found)]


def require(task_id: str) -> Task:
    task = get(task_id)
    if task is None or task.is_deleted:
        raise NotFoundError("no such task")
    return task
