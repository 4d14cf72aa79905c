"""Opaque cursors and page links shared by every list."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from agent_tasks.errors import BadRequestError
from agent_tasks.models.common import Page

Item = TypeVar("Item", bound=BaseModel)


def fingerprint(filters: dict[str, Any]) -> str:
    """Ties a cursor to the filters it was made for, so it cannot be replayed against others."""
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(position: dict[str, Any], filters: dict[str, Any]) -> str:
    raw = json.dumps({"p": position, "f": fingerprint(filters)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class CursorPosition(BaseModel):
    """Where a cursor points. Cursors come back from clients, so what they hold is checked like input."""

    model_config = ConfigDict(extra="forbid")

    page: int = Field(default=1, ge=1, le=100_000)
    after: int | None = Field(default=None, ge=0)
    key: dict[str, dict[Literal["S"], str]] | None = None


def _refused(message: str, reason: str) -> BadRequestError:
    return BadRequestError(
        message, details=[{"loc": ["query", "cursor"], "msg": reason, "type": "value_error"}]
    )


def decode_cursor(
    cursor: str, filters: dict[str, Any], *, partition: tuple[str, str] | None = None
) -> CursorPosition:
    """The position a cursor points at. A cursor that is malformed, made for other filters, or whose key
    lies outside `partition` (attribute, value: the partition this list may read) is a 400."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        matches = decoded["f"] == fingerprint(filters)
        position = CursorPosition.model_validate(decoded["p"])
    except (ValueError, KeyError, TypeError) as exc:  # ValidationError is a ValueError
        raise _refused("cursor is not valid", "malformed cursor") from exc
    if not matches:
        raise _refused("cursor does not belong to this list", "cursor was made for other filters")
    if position.key is not None and partition is not None:
        attribute, value = partition
        if position.key.get(attribute, {}).get("S") != value:
            raise _refused("cursor does not belong to this list", "cursor points outside this list")
    return position


def page_links(
    path: str, query: dict[str, Any], *, page: int, page_size: int, has_next: bool, next_cursor: str | None
) -> dict[str, str]:
    base = {k: v for k, v in query.items() if v is not None and k not in {"page", "cursor"}}
    base["page_size"] = page_size
    links = {"self": f"{path}?{urlencode({**base, 'page': page})}"}
    if has_next:
        extra = {"cursor": next_cursor} if next_cursor else {"page": page + 1}
        links["next"] = f"{path}?{urlencode({**base, 'page': page + 1, **extra})}"
    if page > 1:
        links["prev"] = f"{path}?{urlencode({**base, 'page': page - 1})}"
    return links


def page_of(
    model: type[Item],
    items: list[Item],
    *,
    path: str,
    query: dict[str, Any],
    page: int,
    page_size: int,
    total: int,
    next_cursor: str | None,
) -> Page[Item]:
    """A page of a list with its `_links`; there is a next page exactly when there is a cursor for it."""
    links = page_links(
        path, query, page=page, page_size=page_size, has_next=next_cursor is not None, next_cursor=next_cursor
    )
    return Page[model](  # type: ignore[valid-type]
        items=items, page=page, page_size=page_size, total=total, next_cursor=next_cursor, links=links
    )
