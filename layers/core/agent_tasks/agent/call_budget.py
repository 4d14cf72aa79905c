"""One model call, its retries included, bounded by the time the step has left.

The SDK's own retries (with `timeout` per attempt) know nothing of the step's deadline: with a
1 s timeout and 4 retries one call lasted 14.6 s. Here every attempt gets only the time left as
its timeout, and a retry starts only if, after its wait (the server's `retry-after`, else the
SDK's backoff with jitter), at least `MIN_ATTEMPT_SECONDS` would be left for it. Which errors are
worth a retry is the provider's to say (`retry_wait` returns None for the others).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MIN_ATTEMPT_SECONDS = 1.0
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0


def backoff_seconds(retries_done: int) -> float:
    """The SDK's backoff: 0.5 s doubling up to 8 s, minus up to a quarter of jitter."""
    jitter = 1 - 0.25 * random.random()  # noqa: S311 - jitter, not a secret
    return min(INITIAL_RETRY_DELAY * 2.0 ** min(retries_done, 16), MAX_RETRY_DELAY) * jitter


@dataclass(frozen=True, slots=True)
class Attempted(Generic[T]):
    value: T
    retries: int


class GaveUp(Exception):
    """The last attempt's error, with how many retries were made before giving up."""

    def __init__(self, error: Exception, retries: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.retries = retries


def call_within(
    send: Callable[[float, int], T],
    *,
    seconds: float,
    max_retries: int,
    retry_wait: Callable[[Exception, int], float | None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Attempted[T]:
    """`send(timeout, retries_so_far)` until it succeeds, retrying only while a retry can still finish
    in `seconds`."""
    ends_at = clock() + seconds
    retries = 0
    while True:
        left = ends_at - clock()
        try:
            return Attempted(send(max(0.1, left), retries), retries)
        except Exception as error:
            wait = retry_wait(error, retries)
            if wait is None or retries >= max_retries or ends_at - clock() - wait < MIN_ATTEMPT_SECONDS:
                raise GaveUp(error, retries) from error
        sleep(wait)
        retries += 1
