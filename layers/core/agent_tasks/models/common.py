"""Shapes shared by every resource: links and pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

API_BASE = "/api/v1"

Item = TypeVar("Item", bound=BaseModel)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Page(BaseModel, Generic[Item]):
    """A page of a list, with a total and an opaque cursor for the next page."""

    model_config = ConfigDict(populate_by_name=True)

    items: list[Item]
    page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=100)
    total: int = Field(ge=0)
    next_cursor: str | None = None
    links: dict[str, str] = Field(
        alias="_links", description="`self`, and `next` / `prev` where those pages exist."
    )
