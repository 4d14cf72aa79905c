"""Work spread over threads, each item run in a copy of the caller's context.

Threads of a pool start with an empty context; copying the caller's keeps what lives in context
variables (the invocation's log keys, trace segment, and in the local cloud the function's own
credentials) with the work it started, as if it were done in the handler's thread.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_context(
    work: Callable[[Item], Result], items: Iterable[Item], *, workers: int, name: str
) -> list[Result]:
    """`work` over `items` on at most `workers` threads, in order; each call in a copy of this context."""
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name) as pool:
        return list(pool.map(lambda item: context.copy().run(work, item), items))
