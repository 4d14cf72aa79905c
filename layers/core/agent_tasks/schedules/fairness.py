"""The order in which due slots are started: owners interleave, so no owner's burst goes first.

A tick may find thousands of one owner's slots due in the same minute beside a few of everyone
else's. Starting them in index order (due time, then task id) would let that owner's slots use
up the Step Functions start quota while other owners wait; round-robin over owners starts each
owner's first slot, then each owner's second, and so on. Within one owner the order is kept
(the due index's order: the oldest due first).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T")


def interleave_owners(items: Iterable[T], owner: Callable[[T], Hashable]) -> list[T]:
    """Round-robin over owners (in the order each first appears), keeping each owner's own order."""
    queues: dict[Hashable, list[T]] = {}
    for item in items:
        queues.setdefault(owner(item), []).append(item)
    lanes = list(queues.values())
    depth = max((len(lane) for lane in lanes), default=0)
    return [lane[turn] for turn in range(depth) for lane in lanes if turn < len(lane)]
