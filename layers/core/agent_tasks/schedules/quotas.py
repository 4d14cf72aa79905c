"""Step Functions' StartExecution quota, a token bucket to model it, and backoff for throttled starts.

StartExecution (standard workflows) is throttled per account and region with a token bucket
(Step Functions developer guide, "Step Functions service quotas", quotas related to API action
throttling): bucket 1,300 with a refill of 300 per second in US East (N. Virginia), US West
(Oregon) and Europe (Ireland); bucket 800 with a refill of 150 per second in every other region.
A start beyond it gets `ThrottlingException`; the starter backs off (full jitter) and tries again,
so a burst is delayed, never failed. Pure: the clock and the randomness come from the caller.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

LARGE_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-west-1"})


@dataclass(frozen=True, slots=True)
class BucketQuota:
    bucket_size: int
    refill_per_second: float


def start_execution_quota(
    region: str, *, bucket_size: int | None = None, refill_per_second: float | None = None
) -> BucketQuota:
    """The StartExecution token bucket of `region`: the quotas page's default, or what the account's
    raised quota says (either part given replaces the default's)."""
    default = (
        BucketQuota(bucket_size=1300, refill_per_second=300)
        if region in LARGE_REGIONS
        else BucketQuota(bucket_size=800, refill_per_second=150)
    )
    return BucketQuota(
        bucket_size=bucket_size or default.bucket_size,
        refill_per_second=refill_per_second or default.refill_per_second,
    )


class TokenBucket:
    """A token bucket as AWS throttles with: starts full, refills continuously up to its size."""

    def __init__(self, quota: BucketQuota, *, now: float = 0.0) -> None:
        if quota.bucket_size < 1 or quota.refill_per_second <= 0:
            raise ValueError(f"a bucket needs a size of at least 1 and a positive refill, got {quota}")
        self.quota = quota
        self._tokens = float(quota.bucket_size)
        self._at = now

    def _refill(self, now: float) -> None:
        if now > self._at:
            gained = (now - self._at) * self.quota.refill_per_second
            self._tokens = min(float(self.quota.bucket_size), self._tokens + gained)
            self._at = now

    def try_take(self, now: float) -> bool:
        """Take one token at `now` if there is one (the call goes through); False: throttled."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


# SQS holds a message back by at most 15 minutes.
MAX_QUEUE_DELAY_SECONDS = 900
# Starts past the burst are planned this much later than the bucket alone would allow: the plan
# begins when the first slot is queued, the bucket starts draining only when its StartExecution lands
# (queue delivery, Lambda's poller ramp, the starter's reads), so no start goes before its token is
# there. In the scale model (tests/bench/bench_scale.py, 10,000 due at us-east-1's quota) a lead of
# 0.25 s left 4,348 throttled calls, 0.5 s 1,336, 0.75 s none (others' p99 14.05 s), 1.0 s none
# (others' p99 14.3 s).
PLAN_LEAD_SECONDS = 0.75


def planned_start_offset(position: int, quota: BucketQuota, *, lead: float = PLAN_LEAD_SECONDS) -> float:
    """Seconds after the first slot was queued at which the start queued `position`-th (from 0) finds
    a token: the bucket's burst at once, then (after `lead`) one start per refill interval, in order.

    Why pace rather than let every starter call and back off when throttled: the starts keep the
    order the tick chose (owners interleaved) instead of going to whichever throttled retry comes back
    first, and starters do not sit in backoff holding Lambda concurrency. A throttled start still backs
    off (the API's own starts share the bucket)."""
    if position < 0:
        raise ValueError(f"position must not be negative, got {position}")
    if position < quota.bucket_size:
        return 0.0
    return lead + (position + 1 - quota.bucket_size) / quota.refill_per_second


def queue_delay(not_before: float, now: float) -> int:
    """The whole seconds of SQS DelaySeconds that keep a message hidden until at most `not_before`
    (epoch seconds); the starter waits out the fraction left (functions/starter)."""
    return min(MAX_QUEUE_DELAY_SECONDS, max(0, math.floor(not_before - now)))


def backoff_delays(
    *, base: float = 0.05, cap: float = 2.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Endless exponential backoff with full jitter (uniform in [0, min(cap, base * 2**n)])."""
    if base <= 0 or cap < base:
        raise ValueError(f"backoff needs 0 < base <= cap, got base={base}, cap={cap}")
    draw = rng or random.Random()  # noqa: S311 - jitter, not security
    attempt = 0
    while True:
        yield draw.uniform(0, min(cap, base * 2**attempt))
        attempt += 1
