"""Pure parts of the fan-out: the owner-interleaving order, the start quota and its token bucket."""

from __future__ import annotations

import random

import pytest

from agent_tasks.schedules.fairness import interleave_owners
from agent_tasks.schedules.quotas import (
    MAX_QUEUE_DELAY_SECONDS,
    BucketQuota,
    TokenBucket,
    backoff_delays,
    planned_start_offset,
    queue_delay,
    start_execution_quota,
)


def test_owners_take_turns_and_each_keeps_its_own_order() -> None:
    # Given one owner's five slots listed before two other owners' slots
    items = [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("a", 5), ("b", 1), ("c", 1), ("c", 2)]
    # When they are ordered for starting
    ordered = interleave_owners(items, owner=lambda item: item[0])
    # Then owners take turns (in the order they first appear), each in its own order
    assert ordered == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("c", 2), ("a", 3), ("a", 4), ("a", 5)]


def test_a_thousand_slots_of_one_owner_do_not_go_before_the_others() -> None:
    # Given 1,000 slots of one owner first, then one slot each of 100 other owners
    items = [("big", n) for n in range(1000)] + [(f"small-{n}", 0) for n in range(100)]
    ordered = interleave_owners(items, owner=lambda item: item[0])
    # Then every other owner's slot is among the first 101 starts
    assert {owner for owner, _ in ordered[:101]} == {"big"} | {f"small-{n}" for n in range(100)}
    assert sorted(ordered) == sorted(items)


def test_nothing_to_order_is_nothing() -> None:
    assert interleave_owners([], owner=lambda item: item) == []


@pytest.mark.parametrize(
    ("region", "size", "refill"),
    [
        ("us-east-1", 1300, 300),
        ("us-west-2", 1300, 300),
        ("eu-west-1", 1300, 300),
        ("eu-central-1", 800, 150),
    ],
)
def test_the_start_quota_per_region_is_the_quotas_pages(region: str, size: int, refill: float) -> None:
    assert start_execution_quota(region) == BucketQuota(bucket_size=size, refill_per_second=refill)


def test_a_token_bucket_allows_its_burst_then_its_refill_rate() -> None:
    # Given a full bucket of 1,300 refilling 300 a second
    bucket = TokenBucket(BucketQuota(1300, 300), now=0.0)
    # When 1,301 calls come at once, Then the burst goes through and the next is throttled
    assert sum(bucket.try_take(0.0) for _ in range(1301)) == 1300
    # And a second later 300 more go through, not 301
    assert sum(bucket.try_take(1.0) for _ in range(301)) == 300
    # And an idle bucket fills up to its size only
    assert sum(bucket.try_take(100.0) for _ in range(2000)) == 1300


def test_backoff_grows_with_full_jitter_up_to_its_cap() -> None:
    delays = backoff_delays(base=0.1, cap=1.0, rng=random.Random(7))
    first = [next(delays) for _ in range(10)]
    assert all(0 <= d <= min(1.0, 0.1 * 2**n) for n, d in enumerate(first))
    with pytest.raises(ValueError, match="base"):
        next(backoff_delays(base=0, cap=1))


def test_the_pacing_plan_spends_the_burst_then_one_start_per_refill_interval() -> None:
    quota = BucketQuota(bucket_size=3, refill_per_second=2)
    # The burst's three starts go at once, then (after the lead) one every half second, in queue order
    offsets = [planned_start_offset(n, quota, lead=0.25) for n in range(6)]
    assert offsets == [0.0, 0.0, 0.0, 0.75, 1.25, 1.75]
    with pytest.raises(ValueError, match="position must not be negative"):
        planned_start_offset(-1, quota)


def test_the_plan_never_starts_a_slot_before_a_token_is_there() -> None:
    # Given the plan for 10,000 starts at us-east-1's quota, played against the token bucket
    quota = start_execution_quota("us-east-1")
    bucket = TokenBucket(quota, now=0.0)
    # Then every start at its planned time finds a token
    assert all(bucket.try_take(planned_start_offset(n, quota)) for n in range(10_000))


def test_the_queue_delay_is_whole_seconds_never_past_the_plan_and_at_most_sqs_limit() -> None:
    assert queue_delay(100.9, now=98.0) == 2  # the starter waits the last 0.9 s
    assert queue_delay(98.5, now=99.0) == 0
    assert queue_delay(10_000.0, now=0.0) == MAX_QUEUE_DELAY_SECONDS


def test_a_raised_quota_replaces_the_regions_default() -> None:
    assert start_execution_quota("eu-central-1", refill_per_second=600) == BucketQuota(800, 600)
    assert start_execution_quota("us-east-1", bucket_size=5000) == BucketQuota(5000, 300)
