"""Keys of the sparse due index (GSI2): which shard a task lives on and how its next run sorts.

    GSI2PK = "DUE#<shard>"                       shard = first 8 bytes of sha256(task_id) mod shards
    GSI2SK = "2026-03-08T07:00:00Z#<task_id>"    fixed-width UTC time, so string order is time order

"Everything due at or before now" on one shard is `GSI2PK = due_partition_key(shard) AND
GSI2SK < due_sort_key_upper_bound(now)`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

DUE_PARTITION_PREFIX = "DUE#"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TIME_WIDTH = len("2026-03-08T07:00:00Z")
_SEPARATOR = "#"
# Sorts right after the separator, so "<time>$" is above every "<time>#<task_id>" of that second.
_AFTER_SEPARATOR = chr(ord(_SEPARATOR) + 1)


def due_shard(task_id: str, shards: int) -> int:
    """The task's shard in [0, shards): stable across processes and releases (not Python's hash())."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    digest = hashlib.sha256(task_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def due_partition_key(shard: int) -> str:
    if shard < 0:
        raise ValueError(f"shard must not be negative, got {shard}")
    return f"{DUE_PARTITION_PREFIX}{shard}"


def due_sort_key(next_run_at: datetime, task_id: str) -> str:
    """`<UTC time to the second, Z>#<task_id>`; fire times are whole minutes, so nothing is lost."""
    if not task_id:
        raise ValueError("task_id must not be empty")
    return f"{_format_time(next_run_at, 'next_run_at')}{_SEPARATOR}{task_id}"


def parse_due_sort_key(sort_key: str) -> tuple[datetime, str]:
    """The (aware UTC next_run_at, task_id) a `due_sort_key` was made from."""
    time_text, separator, task_id = (
        sort_key[:_TIME_WIDTH],
        sort_key[_TIME_WIDTH : _TIME_WIDTH + 1],
        sort_key[_TIME_WIDTH + 1 :],
    )
    if separator != _SEPARATOR or not task_id:
        raise ValueError(f"not a due sort key (expected '<YYYY-MM-DDTHH:MM:SSZ>#<task_id>'): {sort_key!r}")
    try:
        moment = datetime.strptime(time_text, _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(
            f"not a due sort key: {time_text!r} is not a UTC time like 2026-03-08T07:00:00Z"
        ) from None
    return moment, task_id


def due_sort_key_upper_bound(now: datetime) -> str:
    """Exclusive upper bound: every key with next_run_at at or before `now` sorts below it, every
    later one above (sub-second parts of `now` are dropped, as keys have whole seconds)."""
    return f"{_format_time(now.replace(microsecond=0), 'now')}{_AFTER_SEPARATOR}"


def _format_time(moment: datetime, name: str) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {moment.isoformat()}")
    if moment.microsecond:
        raise ValueError(f"{name} must be a whole second, got {moment.isoformat()}")
    utc = moment.astimezone(UTC)
    if not 1000 <= utc.year <= 9999:
        raise ValueError(f"{name} must fall in the years 1000-9999 to keep keys fixed-width")
    return utc.strftime(_TIME_FORMAT)
