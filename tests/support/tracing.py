"""A stand-in for the X-Ray recorder behind Powertools' tracer, for tests that read traces."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class RecordingProvider:
    """Remembers each subsegment, its annotations and metadata (set as `tracer.provider`)."""

    def __init__(self) -> None:
        self.segments: list[dict[str, Any]] = []

    @contextmanager
    def in_subsegment(self, name: str) -> Iterator[Any]:
        record: dict[str, Any] = {"name": name, "annotations": {}, "metadata": {}}
        self.segments.append(record)

        class _Segment:
            def put_annotation(self, key: str, value: Any) -> None:
                record["annotations"][key] = value

            def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
                record["metadata"][key] = value

            def add_exception(self, *args: Any, **_kwargs: Any) -> None:
                record["exception"] = repr(args)

        yield _Segment()
