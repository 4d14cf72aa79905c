"""Items read from DynamoDB, counted with botocore's after-call hook on the service's own client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ReadCounter:
    """Items each call read: a Query's ScannedCount (what a filter left out was read too), a GetItem's
    item, a BatchGetItem's answers. `calls` counts DynamoDB calls."""

    def __init__(self) -> None:
        self.items = 0
        self.calls = 0

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls += 1
        if model.name == "Query":
            self.items += int(parsed.get("ScannedCount", parsed.get("Count", 0)))
        elif model.name == "GetItem":
            self.items += 1 if parsed.get("Item") else 0
        elif model.name == "BatchGetItem":
            self.items += sum(len(items) for items in parsed.get("Responses", {}).values())


@contextmanager
def counting_reads() -> Iterator[ReadCounter]:
    from agent_tasks import aws

    counter = ReadCounter()
    events = aws.dynamodb().meta.events
    events.register("after-call.dynamodb", counter._after)
    try:
        yield counter
    finally:
        events.unregister("after-call.dynamodb", counter._after)
