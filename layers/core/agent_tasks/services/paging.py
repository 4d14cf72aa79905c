"""Opaque cursors and page links shared by every list."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field

from agent_tasks.errors import BadRequestError, ValidationFailedError
from agent_tasks.models.common import Counted, Page
from agent_tasks.observability import logger
from agent_tasks.settings import get_settings

Item = TypeVar("Item", bound=BaseModel)


@lru_cache(maxsize=1)
def cursor_signing_key() -> bytes:
    """The HMAC key cursors are signed with: CURSOR_SIGNING_KEY, else the SSM SecureString named by
    CURSOR_SIGNING_KEY_PARAMETER (read once per process), else a key derived from the table's name
    (the local cloud; a warning says so, as cursors are then only as secret as that name)."""
    settings = get_settings()
    if settings.cursor_signing_key is not None and settings.cursor_signing_key.get_secret_value():
        return settings.cursor_signing_key.get_secret_value().encode()
    if settings.cursor_signing_key_parameter:
        from agent_tasks import adapters

        return adapters.secure_values().get(settings.cursor_signing_key_parameter, max_age=3600).encode()
    logger.warning("no cursor signing key is configured; using one derived from the table name")
    return hashlib.sha256(f"agent-tasks-cursor:{settings.table_name}".encode()).digest()


def fingerprint(filters: dict[str, Any]) -> str:
    """Ties a cursor to the filters it was made for, so it cannot be replayed against others."""
    return hashlib.sha256(json.dumps(filters, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _signature(payload: bytes) -> str:
    digest = hmac.new(cursor_signing_key(), payload, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(position: dict[str, Any], filters: dict[str, Any]) -> str:
    """`<payload>.<HMAC-SHA256 of it>`, both base64url: a client can read a cursor but not edit one."""
    raw = json.dumps({"p": position, "f": fingerprint(filters)}, separators=(",", ":")).encode()
    payload = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{payload}.{_signature(payload.encode())}"


class CursorPosition(BaseModel):
    """Where a cursor points. Cursors come back from clients, so what they hold is checked like input."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    page: int = Field(default=1, ge=1, le=100_000)
    after: int | None = Field(default=None, ge=0)
    key: dict[str, dict[Literal["S"], str]] | None = None
    total: int | None = Field(default=None, ge=0)


def _refused(message: str, reason: str) -> BadRequestError:
    return BadRequestError(
        message, details=[{"loc": ["query", "cursor"], "msg": reason, "type": "value_error"}]
    )


def _key_fits(key: dict[str, dict[Literal["S"], str]], shape: Mapping[str, str]) -> bool:
    """The key has exactly the attributes of `shape`, each equal to its value there, or starting with it
    when that value ends in `*`."""
    if set(key) != set(shape):
        return False
    for attribute, wanted in shape.items():
        value = key[attribute].get("S", "")
        if wanted.endswith("*"):
            if not value.startswith(wanted[:-1]) or len(value) == len(wanted) - 1:
                return False
        elif value != wanted:
            return False
    return True


def decode_cursor(
    cursor: str, filters: dict[str, Any], *, key_shape: Mapping[str, str] | None = None
) -> CursorPosition:
    """The position a cursor points at. A cursor that is unsigned or edited, malformed, made for other
    filters, or whose key is not one this list makes (`key_shape`, see `_key_fits`) is a 400."""
    payload, _, signature = cursor.partition(".")
    if not signature or not hmac.compare_digest(signature, _signature(payload.encode())):
        raise _refused("cursor is not valid", "cursor was not made by this service or was changed")
    try:
        decoded = json.loads(_b64decode(payload))
        matches = decoded["f"] == fingerprint(filters)
        position = CursorPosition.model_validate(decoded["p"])
    except (ValueError, KeyError, TypeError) as exc:  # ValidationError is a ValueError
        raise _refused("cursor is not valid", "malformed cursor") from exc
    if not matches:
        raise _refused("cursor does not belong to this list", "cursor was made for other filters")
    if position.key is not None and (key_shape is None or not _key_fits(position.key, key_shape)):
        raise _refused("cursor does not belong to this list", "cursor points outside this list")
    return position


# Without a cursor, page n of a list read in key order walks the n-1 pages before it: bounded here.
MAX_WALKED_PAGE = 100


def check_walk(page: int, cursor: str | None) -> None:
    """A 422 naming `query.page` for a page the list would have to walk too far to reach (a cursor's
    page is reached directly, whatever its number)."""
    if cursor is None and page > MAX_WALKED_PAGE:
        raise ValidationFailedError.for_field(
            "query.page",
            f"without a cursor, page is at most {MAX_WALKED_PAGE}; beyond it, follow next_cursor",
        )


def page_links(
    path: str,
    query: dict[str, Any],
    *,
    page: int,
    page_size: int,
    has_next: bool,
    next_cursor: str | None,
    cursor: str | None = None,
    walked: bool = False,
) -> dict[str, str]:
    """`self` (with the cursor this page was asked with, if any), `next`, and `prev` where it can be
    asked: on a walked list (`walked`), not past MAX_WALKED_PAGE, since no cursor leads back."""
    base = {k: v for k, v in query.items() if v is not None and k not in {"page", "cursor"}}
    base["page_size"] = page_size
    links = {"self": f"{path}?{urlencode({**base, 'page': page, **({'cursor': cursor} if cursor else {})})}"}
    if has_next:
        extra = {"cursor": next_cursor} if next_cursor else {"page": page + 1}
        links["next"] = f"{path}?{urlencode({**base, 'page': page + 1, **extra})}"
    if page > 1 and not (walked and page - 1 > MAX_WALKED_PAGE):
        links["prev"] = f"{path}?{urlencode({**base, 'page': page - 1})}"
    return links


# A list that grows without bound is counted up to this many items (Page.total_exact says when beyond).
LIST_TOTAL_AT_MOST = 1_000


def page_of(
    model: type[Item],
    items: list[Item],
    *,
    path: str,
    query: dict[str, Any],
    page: int,
    page_size: int,
    total: int | Counted,
    next_cursor: str | None,
    cursor: str | None = None,
    walked: bool = False,
) -> Page[Item]:
    """A page of a list with its `_links`; there is a next page exactly when there is a cursor for it.
    A `Counted` total that is not exact is answered as a lower bound (`total_exact` false)."""
    links = page_links(
        path,
        query,
        page=page,
        page_size=page_size,
        has_next=next_cursor is not None,
        next_cursor=next_cursor,
        cursor=cursor,
        walked=walked,
    )
    counted = total if isinstance(total, Counted) else Counted(total, exact=True)
    if not counted.exact:  # a lower bound is never below what this very page holds
        counted = Counted(max(counted.value, len(items)), exact=False)
    return Page[model](  # type: ignore[valid-type]
        items=items,
        page=page,
        page_size=page_size,
        total=counted.value,
        total_exact=counted.exact,
        next_cursor=next_cursor,
        links=links,
    )
