"""Sessions from the API's side: the session and its transcript, for their owner only."""

from __future__ import annotations

from agent_tasks.errors import NotFoundError
from agent_tasks.models.common import API_BASE, Page
from agent_tasks.models.executions import MessageResponse, Session
from agent_tasks.services.paging import decode_cursor, encode_cursor, page_of
from agent_tasks.store import sessions as session_store


def own_session(user_id: str, session_id: str) -> Session:
    session = session_store.get(session_id)
    if session is None or session.owner_id != user_id:
        raise NotFoundError("no such session")
    return session


def list_messages(
    user_id: str, session_id: str, *, page: int, page_size: int, cursor: str | None
) -> Page[MessageResponse]:
    """A page of the transcript in order; seqs are contiguous from 1, so a page number is a position."""
    own_session(user_id, session_id)
    filters = {"session_id": session_id, "page_size": page_size}
    after = (page - 1) * page_size
    if cursor:
        position = decode_cursor(cursor, filters)
        after, page = position.after or 0, position.page
    messages, more = session_store.list_messages(session_id, limit=page_size, after_seq=after)
    next_cursor = (
        encode_cursor({"after": messages[-1].seq, "page": page + 1}, filters) if more and messages else None
    )
    return page_of(
        MessageResponse,
        [MessageResponse.model_validate(m.model_dump()) for m in messages],
        path=f"{API_BASE}/sessions/{session_id}/messages",
        query={},
        page=page,
        page_size=page_size,
        total=session_store.count_messages(session_id),
        next_cursor=next_cursor,
    )
