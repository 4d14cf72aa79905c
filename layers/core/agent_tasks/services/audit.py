"""Reading the audit trail (writing happens in the same transaction as each change)."""

from __future__ import annotations

from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import API_BASE, Page
from agent_tasks.services.paging import (
    LIST_TOTAL_AT_MOST,
    CursorPosition,
    decode_cursor,
    encode_cursor,
    page_of,
)
from agent_tasks.store import audit as audit_store


def list_events(owner_id: str, *, page_size: int, cursor: str | None) -> Page[AuditEvent]:
    scope = {"owner": owner_id, "page_size": page_size}
    position = (
        decode_cursor(cursor, scope, key_shape={"PK": f"AUDIT#{owner_id}", "SK": audit_store.AUDIT_SORT_KEY})
        if cursor
        else CursorPosition()
    )
    events, last_key = audit_store.list_events(owner_id, limit=page_size, start_key=position.key)
    page = position.page
    # The cursor carries DynamoDB's key, bound to this owner by its fingerprint, and we always query the
    # caller's own partition: a forged cursor can at worst skip within the caller's own trail.
    next_cursor = encode_cursor({"page": page + 1, "key": last_key}, scope) if last_key else None
    return page_of(
        AuditEvent,
        events,
        path=f"{API_BASE}/audit-events",
        query={},
        page=page,
        page_size=page_size,
        total=audit_store.count_events(owner_id, at_most=LIST_TOTAL_AT_MOST),
        next_cursor=next_cursor,
    )
