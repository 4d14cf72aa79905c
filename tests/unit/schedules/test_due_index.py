"""Due-index keys: stable, evenly spread shards; fixed-width, time-ordered sort keys; the query bound."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agent_tasks.schedules import (
    due_partition_key,
    due_shard,
    due_sort_key,
    due_sort_key_upper_bound,
    parse_due_sort_key,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_shard_is_stable_across_processes() -> None:
    # Given fixed ids, Then their shards are these forever (sha256, not Python's salted hash())
    assert [due_shard(task_id, 4) for task_id in ("task-1", "task-2", "task-3", "")] == [
        _expected_shard("task-1", 4),
        _expected_shard("task-2", 4),
        _expected_shard("task-3", 4),
        _expected_shard("", 4),
    ]


def _expected_shard(task_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:8], "big") % shards


def test_known_shard_values_do_not_drift() -> None:
    # Pinned literals: a change here would strand every stored task on the wrong shard
    assert [due_shard(f"task-{n}", 4) for n in range(8)] == [0, 3, 0, 2, 2, 1, 1, 1]


def test_shards_spread_evenly() -> None:
    # Given 10,000 ids over 4 shards, Then each shard holds 2,500 +- 10%
    counts = Counter(due_shard(f"task-{n:05d}", 4) for n in range(10_000))
    assert set(counts) == {0, 1, 2, 3}
    assert all(2_250 <= count <= 2_750 for count in counts.values()), counts


def test_one_shard_takes_everything() -> None:
    assert {due_shard(f"t{n}", 1) for n in range(100)} == {0}


def test_shard_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="shards must be at least 1"):
        due_shard("task", 0)


def test_partition_key() -> None:
    assert due_partition_key(3) == "DUE#3"
    with pytest.raises(ValueError, match="shard must not be negative"):
        due_partition_key(-1)


def test_sort_key_is_fixed_width_utc_with_z() -> None:
    # Given a Berlin-time instant, Then the key is in UTC with Z
    key = due_sort_key(datetime(2026, 3, 29, 3, 0, tzinfo=ZoneInfo("Europe/Berlin")), "task-1")
    assert key == "2026-03-29T01:00:00Z#task-1"
    assert len(due_sort_key(utc(2026, 1, 1), "x").split("#")[0]) == len("2026-01-01T00:00:00Z")


def test_sort_keys_sort_in_time_order() -> None:
    # Given instants spread over years, days and seconds, with ids that would sort the other way
    instants = [utc(2026, 1, 1) + timedelta(seconds=7_919 * n * n) for n in range(200)]
    keys = [due_sort_key(moment, f"task-{999 - n:03d}") for n, moment in enumerate(instants)]
    # Then string order is time order
    assert sorted(keys) == keys


def test_sort_key_round_trips_including_ids_with_hashes() -> None:
    moment = utc(2026, 11, 1, 5, 30)
    assert parse_due_sort_key(due_sort_key(moment, "a#b")) == (moment, "a#b")


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("2026-11-01T05:30:00Z", "not a due sort key"),
        ("2026-11-01T05:30:00Z#", "not a due sort key"),
        ("2026-11-01 05:30:00Z#t", "not a UTC time like"),
        ("nonsense", "not a due sort key"),
    ],
)
def test_parse_refuses_malformed_keys(key: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_due_sort_key(key)


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (datetime(2026, 1, 1), "next_run_at must be a timezone-aware datetime"),
        (utc(2026, 1, 1, 0, 0, 0) + timedelta(microseconds=5), "next_run_at must be a whole second"),
    ],
)
def test_sort_key_refuses_naive_or_sub_second_times(moment: datetime, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        due_sort_key(moment, "t")


def test_upper_bound_splits_due_from_not_yet_due() -> None:
    # Given now = 12:00:00.5 and keys just before, at and after it
    now = utc(2026, 1, 1, 12) + timedelta(microseconds=500_000)
    bound = due_sort_key_upper_bound(now)
    due = [due_sort_key(utc(2026, 1, 1, 11, 59, 59), "z"), due_sort_key(utc(2026, 1, 1, 12), "~~~~")]
    later = [due_sort_key(utc(2026, 1, 1, 12, 0, 1), "0"), due_sort_key(utc(2027, 1, 1), "a")]
    # Then every due key sorts below the bound (compared as UTF-8 bytes, like DynamoDB) and later ones above
    assert all(key.encode() < bound.encode() for key in due)
    assert all(key.encode() > bound.encode() for key in later)
