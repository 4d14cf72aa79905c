"""Sessions from the API's side: the session and its transcript, for their owner only."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from urllib.parse import urlencode

from agent_tasks.errors import BadRequestError, NotFoundError
from agent_tasks.models.common import API_BASE, Page
from agent_tasks.models.executions import TERMINAL_STATUSES, MessageResponse, Session
from agent_tasks.models.transcript import TranscriptMessage
from agent_tasks.services.paging import decode_cursor, encode_cursor, page_of
from agent_tasks.store import executions as execution_store
from agent_tasks.store import sessions as session_store

MAX_WAIT_SECONDS = 20
# Pauses between store reads while a long poll waits: quick at first (a turn usually lands soon),
# then once a second, so a 20 s wait costs at most about 25 small reads, never a busy loop.
WAIT_PAUSES_SECONDS = (0.2, 0.3, 0.5)
STEADY_PAUSE_SECONDS = 1.0


def own_session(user_id: str, session_id: str) -> Session:
    session = session_store.get(session_id)
    if session is None or session.owner_id != user_id:
        raise NotFoundError("no such session")
    return session


def list_messages(
    user_id: str,
    session_id: str,
    *,
    page: int,
    page_size: int,
    cursor: str | None,
    after: int | None = None,
    wait: int = 0,
    pause: Callable[[float], object] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Page[MessageResponse]:
    """A page of the transcript in order; seqs are contiguous from 1, so a page number is a position.

    With `after`, only messages with a greater seq (a key condition: a poll reads only what is new);
    with `wait` too, waits up to that many seconds for one to arrive unless the execution has ended.
    """
    session = own_session(user_id, session_id)
    if after is not None:
        if cursor:
            raise BadRequestError(
                "cursor and after cannot be combined",
                details=[
                    {"loc": ["query", "after"], "msg": "use after or cursor, not both", "type": "value_error"}
                ],
            )
        return _messages_after(session, after, page_size, wait, pause or threading.Event().wait, clock)
    filters = {"session_id": session_id, "page_size": page_size}
    after = (page - 1) * page_size
    if cursor:
        position = decode_cursor(cursor, filters)
        after, page = position.after or 0, position.page
    messages, more = session_store.list_messages(session_id, limit=page_size, after_seq=after)
    next_cursor = (
        encode_cursor({"after": messages[-1].seq, "page": page + 1}, filters) if more and messages else None
    )
    return _page(session_id, messages, page, page_size, session_store.count_messages(session_id), next_cursor)


def _messages_after(
    session: Session,
    after: int,
    page_size: int,
    wait: int,
    pause: Callable[[float], object],
    clock: Callable[[], float],
) -> Page[MessageResponse]:
    """Messages after `after`, waiting (bounded) for the first; `total` is the newest seq stored."""
    deadline = clock() + min(wait, MAX_WAIT_SECONDS)
    pauses = iter(WAIT_PAUSES_SECONDS)
    while True:
        messages, more = session_store.list_messages(session.id, limit=page_size, after_seq=after)
        left = deadline - clock()
        if messages or left <= 0 or _has_ended(session):
            break
        pause(min(next(pauses, STEADY_PAUSE_SECONDS), left))
    # Seqs run from 1 without gaps, so the newest seq is the count: known at once unless more follow.
    total = messages[-1].seq if messages and not more else session_store.last_seq(session.id)
    result = _page(session.id, messages, 1, page_size, total, None, query={"after": after})
    if more:
        query = urlencode({"after": messages[-1].seq, "page_size": page_size})
        result.links["next"] = f"{API_BASE}/sessions/{session.id}/messages?{query}"
    return result


def _has_ended(session: Session) -> bool:
    return execution_store.status_of(session.execution_id) in TERMINAL_STATUSES


def _page(
    session_id: str,
    messages: list[TranscriptMessage],
    page: int,
    page_size: int,
    total: int,
    next_cursor: str | None,
    query: dict[str, object] | None = None,
) -> Page[MessageResponse]:
    return page_of(
        MessageResponse,
        [MessageResponse.model_validate(m.model_dump()) for m in messages],
        path=f"{API_BASE}/sessions/{session_id}/messages",
        query=query or {},
        page=page,
        page_size=page_size,
        total=total,
        next_cursor=next_cursor,
    )
