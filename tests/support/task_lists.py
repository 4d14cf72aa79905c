"""Many tasks of one user straight into the table, with their list indexes and counts (setup only)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 1, 1, tzinfo=UTC)


def stored_task(owner_id: str, index: int, *, tags: list[str]) -> Any:
    from agent_tasks.models.tasks import Task

    created = START + timedelta(seconds=index)
    return Task.model_validate(
        {
            "name": f"Listed {index}",
            "prompt_template": "Check {{ topic }}.",
            "allowed_tools": ["read_file"],
            "sdk_options": {},
            "tags": tags,
            "id": str(uuid.uuid4()),
            "owner_id": owner_id,
            "version": 1,
            "created_at": created,
            "updated_at": created,
        }
    )


def put_tasks(owner_id: str, count: int, *, first: int = 0, tag_every: int = 10) -> list[Any]:
    """`count` live tasks, every `tag_every`th tagged `ops`, written as the store writes them (in
    batches), and the user's counts item set to match what is stored."""
    from agent_tasks import aws
    from agent_tasks.models.tasks import facets_of
    from agent_tasks.store import tasks as task_store
    from agent_tasks.store.dynamo import serialize, table_name, write_batch

    tasks = [
        stored_task(owner_id, first + i, tags=["ops"] if (first + i) % tag_every == 0 else [])
        for i in range(count)
    ]
    items: list[Any] = []
    for task in tasks:
        items.append(serialize(task_store.to_item(task)))
        items += [serialize(entry) for entry in task_store.index_items(task)]
    write_batch(items)
    counts: Counter[str] = Counter()
    for task in tasks:
        counts.update(facets_of(task))
    names = {f"#c{i}": f"n:{facet}" for i, facet in enumerate(sorted(counts))}
    values = {f":d{i}": {"N": str(counts[facet])} for i, facet in enumerate(sorted(counts))}
    aws.dynamodb().update_item(
        TableName=table_name(),
        Key={"PK": {"S": f"USER#{owner_id}"}, "SK": {"S": "TASKCOUNTS"}},
        UpdateExpression="SET GSI1PK = :gpk, GSI1SK = :gsk ADD "
        + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True)),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={
            **values,
            ":gpk": {"S": f"USER#{owner_id}"},
            ":gsk": {"S": task_store.COUNTS_SORT_KEY},
        },
    )
    return tasks
