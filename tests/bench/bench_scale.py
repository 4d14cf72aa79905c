"""A scale model of the scheduler's fan-out: 10,000 slots due in one minute, half of them one user's.

Discrete-event simulation of the path a due slot takes in AWS, with the quotas and per-call
latencies as parameters (`ScaleParameters`); nothing here calls AWS or reads the wall clock.

1. The EventBridge tick reaches the scheduler `tick_delay_s` after the minute. It queries the
   due index (one query page per shard), orders the entries owners-interleaved
   (schedules/fairness.py) and claims them with `claim_workers` threads (GetItem + UpdateItem each);
   every 10 claims go to SQS in one SendMessageBatch.
2. Lambda's SQS poller starts 5 concurrent batches and adds up to 300 per minute, up to the event
   source's MaximumConcurrency; a new instance pays a cold start. An instance takes up to 10
   messages, in queue order, and starts them in parallel threads (functions/starter/app.py).
3. Each start reads the task and its overlap window, writes the execution, then calls
   StartExecution against the region's token bucket (schedules/quotas.py). A throttled call is
   retried as botocore's standard mode does (4 retries, full jitter, 1-2-4-8 s caps), then with the
   starter's own backoff (full jitter, 0.05 s doubling to 2 s).

4. With the lookahead (SCHEDULE_LOOKAHEAD_SECONDS, `lookahead_s`, the service's default) the
   slots are claimed by the tick before the minute whose horizon covers them (ticks come every 60 s,
   `tick_delay_s` after the minute) and their workflows started as above, paced, ahead of time; each
   waits (a Wait state) until its slot. At the slot every waiting workflow leaves its Wait: each
   state transition takes a token of the account's StateTransition bucket; then its BeginSlot step
   (a Lambda invocation, `begin_slot_ms`, at most `lambda_concurrency` at once, each new instance
   paying a cold start) judges the slot and admits the run.

Delay of a slot = when its StartExecution succeeded, minus the slot's time; with the lookahead, when
its BeginSlot step has decided it (the same point of the path: the starter decides before it starts),
minus the slot's time.

Defaults and where they come from:
- StartExecution bucket 1,300, refill 300/s: Step Functions developer guide, "Step Functions service
  quotas", API action throttling, US East (N. Virginia), US West (Oregon), Europe (Ireland).
- Lambda SQS scaling 5 concurrent batches, +300 instances per minute: Lambda developer guide,
  "Configuring scaling behavior for SQS event source mappings"; MaximumConcurrency 50 and batch
  size 10: template.yaml (StarterFunction).
- DynamoDB 5 ms per single-item call, 10 ms per query page or transaction: DynamoDB's
  "single-digit millisecond" latency, doubled for multi-item calls (an assumption).
- StartExecution 50 ms, SQS send 10 ms and delivery 50 ms, tick delivery 1 s after the minute,
  cold start 600 ms: assumptions (the issue's "tens of ms" per StartExecution); change them here.
- StateTransition bucket 5,000, refill 5,000/s (800 / 800 in the other regions): the same quotas
  page, "Quotas related to state throttling" (as recalled, not re-read this stop: check it).
- BeginSlot 40 ms (four single-item DynamoDB calls and one transaction) and 1,000 concurrent
  executor instances (the account's default Lambda concurrency): assumptions.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import statistics
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from agent_tasks.schedules.fairness import interleave_owners
from agent_tasks.schedules.quotas import (
    BucketQuota,
    TokenBucket,
    backoff_delays,
    planned_start_offset,
    queue_delay,
)
from agent_tasks.settings import Settings


@dataclass(frozen=True)
class ScaleParameters:
    due: int = 10_000
    heavy_share: float = 0.5
    other_owners: int = 1_000
    shards: int = 4
    tick_delay_s: float = 1.0
    dynamodb_ms: float = 5.0
    dynamodb_multi_ms: float = 10.0
    claim_workers: int = 16
    sqs_send_ms: float = 10.0
    sqs_delivery_ms: float = 50.0
    batch_size: int = 10
    initial_concurrency: int = 5
    scale_up_per_minute: int = 300
    max_concurrency: int = 50
    cold_start_s: float = 0.6
    start_execution_ms: float = 50.0
    bucket_size: int = 1300
    refill_per_second: float = 300.0
    # Retries botocore's standard mode makes itself before the starter's own backoff sees a throttle.
    sdk_retries: int = 4
    # The tick holds each queued start back until the bucket has a token for it (the real
    # QueueDispatcher's policy, schedules/quotas.py planned_start_offset and queue_delay; the starter
    # waits out the fraction of a second); False: the code before it.
    pace_starts: bool = True
    # Claim slots this far ahead and start their workflows waiting for the slot (0: off); the
    # service's default (settings.py SCHEDULE_LOOKAHEAD_SECONDS).
    lookahead_s: float = float(Settings.model_fields["schedule_lookahead_seconds"].default)
    transition_bucket: int = 5000
    transition_refill_per_second: float = 5000.0
    begin_slot_ms: float = 40.0
    lambda_concurrency: int = 1000
    seed: int = 20


@dataclass
class _Slot:
    owner: str
    available_at: float = 0.0
    not_before: float = -math.inf  # no pacing plan: the starter starts it at once
    started_at: float | None = None
    attempts: int = 0
    begun_at: float | None = None  # with the lookahead: when its BeginSlot step decided it


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def simulate(p: ScaleParameters) -> dict[str, Any]:
    rng = random.Random(p.seed)
    heavy = round(p.due * p.heavy_share)
    slots = [_Slot("heavy") for _ in range(heavy)] + [
        _Slot(f"user-{n % p.other_owners}") for n in range(p.due - heavy)
    ]
    rng.shuffle(slots)  # the due index orders by task id: owners arrive mixed
    ordered = interleave_owners(slots, owner=lambda slot: slot.owner)

    # 1. The tick: queries, then claims in order with `claim_workers` threads, 10 to a send; with
    # pacing each message carries the DelaySeconds the real dispatcher gives it (the dispatcher's
    # clock starts when the handler does, at tick_delay_s).
    quota = BucketQuota(p.bucket_size, p.refill_per_second)
    # The tick that claims the slots: the first (every 60 s, tick_delay_s after the minute) whose
    # horizon (its time plus the lookahead) reaches the slot (time 0).
    tick_at = p.tick_delay_s + 60.0 * math.ceil((-p.lookahead_s - p.tick_delay_s) / 60.0)
    queried = tick_at + p.shards * p.dynamodb_multi_ms / 1000
    claim_s = 2 * p.dynamodb_ms / 1000
    plan_start = queried + claim_s / p.claim_workers  # the first dispatch
    for index, slot in enumerate(ordered):
        claimed_at = queried + ((index + 1) / p.claim_workers) * claim_s
        delay = 0.0
        if p.pace_starts:
            planned = plan_start + planned_start_offset(index, quota)
            if planned > claimed_at:
                delay, slot.not_before = queue_delay(planned, claimed_at), planned
        sent = queried + ((index // p.batch_size + 1) * p.batch_size / p.claim_workers) * claim_s
        slot.available_at = max(sent, claimed_at) + (p.sqs_send_ms + p.sqs_delivery_ms) / 1000 + delay
    tick_done = max(slot.available_at for slot in ordered)
    # SQS hands out what is visible, oldest first (a standard queue's best-effort order).
    ordered = sorted(ordered, key=lambda slot: slot.available_at)

    # 2-3. Pollers and starts, as events in time order.
    bucket = TokenBucket(quota, now=tick_at)
    queue = deque(ordered)
    events: list[tuple[float, int, str, Any]] = []
    sequence = itertools.count()

    def at(time: float, kind: str, payload: Any = None) -> None:
        heapq.heappush(events, (time, next(sequence), kind, payload))

    first = ordered[0].available_at
    for _ in range(min(p.initial_concurrency, p.max_concurrency)):
        at(first + p.cold_start_s, "instance_free")
    instances = min(p.initial_concurrency, p.max_concurrency)
    step = 60.0 / p.scale_up_per_minute
    if instances < p.max_concurrency:
        at(first + step, "scale_up")
    pre_start_s = (2 * p.dynamodb_ms + p.dynamodb_multi_ms * 2) / 1000  # task, execution, overlap, write
    after_start_s = p.dynamodb_ms / 1000  # finish the claim
    in_batch: dict[int, int] = {}
    batch_ids = itertools.count()
    retry_state: dict[int, Any] = {}
    throttled = 0

    while events:
        now, _, kind, payload = heapq.heappop(events)
        if kind == "scale_up":
            if queue and instances < p.max_concurrency:
                instances += 1
                at(now + p.cold_start_s, "instance_free")
                at(now + step, "scale_up")
        elif kind == "instance_free":
            if not queue:
                continue
            if queue[0].available_at > now:
                at(queue[0].available_at, "instance_free")
                continue
            batch_id = next(batch_ids)
            taken: list[_Slot] = []
            while queue and len(taken) < p.batch_size and queue[0].available_at <= now:
                taken.append(queue.popleft())
            in_batch[batch_id] = len(taken)
            for slot in taken:  # the starter waits out the plan's fraction of a second first
                at(max(now, min(slot.not_before, now + 1.0)) + pre_start_s, "attempt", (slot, batch_id))
        elif kind == "attempt":
            slot, batch_id = payload
            slot.attempts += 1
            if bucket.try_take(now):
                slot.started_at = now + p.start_execution_ms / 1000
                at(slot.started_at + after_start_s, "slot_done", batch_id)
            else:
                throttled += 1
                key = id(slot)
                if slot.attempts <= p.sdk_retries:  # botocore standard mode: full jitter, caps 1, 2, 4, 8 s
                    delay = rng.uniform(0, min(20.0, 2 ** (slot.attempts - 1)))
                else:
                    delays = retry_state.setdefault(key, backoff_delays(rng=rng))
                    delay = next(delays)
                at(now + p.start_execution_ms / 1000 + delay, "attempt", (slot, batch_id))
        elif kind == "slot_done":
            in_batch[payload] -= 1
            if in_batch[payload] == 0:
                at(now, "instance_free")

    if p.lookahead_s > 0:
        _begin_at_slot(slots, p)

    def figures(selected: list[_Slot]) -> dict[str, float]:
        delays = [
            slot.begun_at if slot.begun_at is not None else slot.started_at
            for slot in selected
            if slot.started_at is not None
        ]
        return {
            "count": len(delays),
            "p50_s": round(_percentile(delays, 0.50), 2),
            "p99_s": round(_percentile(delays, 0.99), 2),
            "max_s": round(max(delays), 2),
            "mean_s": round(statistics.fmean(delays), 2),
        }

    overall = figures(slots)
    others = figures([slot for slot in slots if slot.owner != "heavy"])
    return {
        "parameters": p.__dict__,
        "overall": overall,
        "others": others,
        "heavy": figures([slot for slot in slots if slot.owner == "heavy"]),
        "tick_done_s": round(tick_done, 2),
        "throttled_calls": throttled,
        "peak_instances": instances,
        "all_within_60s": overall["max_s"] <= 60.0,
        "others_p99_under_10s": others["p99_s"] < 10.0,
        "others_p99_floor_s": others_p99_floor(p),
        "started_before_slot": sum(1 for slot in slots if (slot.started_at or 0.0) <= 0.0),
        "tick_at_s": round(tick_at, 2),
    }


def _begin_at_slot(slots: list[_Slot], p: ScaleParameters) -> None:
    """The waiting workflows at their slot: each leaves its Wait (at the slot, or at once if it
    started late) with a StateTransition token, then its BeginSlot invocation runs on one of
    `lambda_concurrency` executor instances (a new one pays a cold start)."""
    transitions = TokenBucket(BucketQuota(p.transition_bucket, p.transition_refill_per_second), now=0.0)
    refill = p.transition_refill_per_second
    instances: list[float] = []  # when each instance is free, a heap
    for slot in sorted(slots, key=lambda slot: max(0.0, slot.started_at or 0.0)):
        ready = max(0.0, slot.started_at or 0.0)
        while not transitions.try_take(ready):
            ready += 1.0 / refill
        if len(instances) < p.lambda_concurrency:
            begins = ready + p.cold_start_s
        else:
            begins = max(ready, heapq.heappop(instances))
        slot.begun_at = begins + p.begin_slot_ms / 1000
        heapq.heappush(instances, slot.begun_at)


_OTHER_REGIONS: dict[str, Any] = {
    "bucket_size": 800,
    "refill_per_second": 150,
    "transition_bucket": 800,
    "transition_refill_per_second": 800.0,
}
SCENARIOS = {
    "AWS defaults (us-east-1), lookahead 60 s (the default)": ScaleParameters(lookahead_s=60),
    "AWS defaults (us-east-1), lookahead off": ScaleParameters(lookahead_s=0),
    "AWS defaults (us-east-1), lookahead off, before pacing": ScaleParameters(
        lookahead_s=0, pace_starts=False
    ),
    "other regions (800 / 150 per s), lookahead 60 s": ScaleParameters(lookahead_s=60, **_OTHER_REGIONS),
    "other regions, lookahead off": ScaleParameters(lookahead_s=0, **_OTHER_REGIONS),
    "other regions, lookahead 120 s": ScaleParameters(lookahead_s=120, **_OTHER_REGIONS),
    "start quota raised to refill 600/s, lookahead off": ScaleParameters(
        lookahead_s=0, refill_per_second=600
    ),
}


def others_p99_floor(p: ScaleParameters) -> float:
    """The least possible p99 start delay of the other users' slots with the bucket alone in the way:
    even if every one of their starts went before any of the heavy owner's, the one at their 99th
    percentile needs that many tokens, of which only the burst is there at once."""
    others = p.due - round(p.due * p.heavy_share)
    needed = math.ceil(0.99 * others)
    return round(p.tick_delay_s + max(0.0, (needed - p.bucket_size) / p.refill_per_second), 2)


def run() -> dict[str, Any]:
    return {name: simulate(parameters) for name, parameters in SCENARIOS.items()}


def main() -> None:
    for name, result in run().items():
        o, h, x = result["overall"], result["others"], result["heavy"]
        print(f"{name}:")
        print(f"  overall  p50 {o['p50_s']} s  p99 {o['p99_s']} s  max {o['max_s']} s ({o['count']} slots)")
        print(f"  others   p50 {h['p50_s']} s  p99 {h['p99_s']} s  max {h['max_s']} s ({h['count']} slots)")
        print(f"  heavy    p50 {x['p50_s']} s  p99 {x['p99_s']} s  max {x['max_s']} s ({x['count']} slots)")
        print(
            f"  last slot visible in the queue {result['tick_done_s']} s; "
            f"throttled calls {result['throttled_calls']}; "
            f"instances {result['peak_instances']}; every slot within 60 s: {result['all_within_60s']}; "
            f"others' p99 under 10 s: {result['others_p99_under_10s']}"
        )
        if result["parameters"]["lookahead_s"]:
            print(
                f"  claimed by the tick at {result['tick_at_s']} s; workflows started before their slot: "
                f"{result['started_before_slot']}"
            )
        else:
            floor = result["others_p99_floor_s"]
            print(f"  others' p99 floor at this quota (tick delay + bucket alone): {floor} s")


if __name__ == "__main__":
    main()


__all__ = ["SCENARIOS", "ScaleParameters", "replace", "run", "simulate"]
