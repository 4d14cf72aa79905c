"""Shapes shared by every resource: links and pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

API_BASE = "/api/v1"

# The one definition of each shared set of names (the report document, the stored records and the
# answers all use these).
# `queued`: written but not started, over a concurrency limit (services/concurrency.py); `expired`: a
# queued execution not started within its task's queued_ttl_seconds; `waiting_for_approval`: paused on
# a tool call until its owner answers (services/approvals.py).
ExecutionStatus = Literal[
    "queued",
    "pending",
    "running",
    "waiting_for_approval",
    "completed",
    "failed",
    "cancelled",
    "timed_out",
    "expired",
]
ReportFormat = Literal["html", "pdf", "json", "markdown"]
OverlapPolicy = Literal["skip", "allow", "buffer_one", "cancel_other"]

# The validation context the store loads items with: validators of shapes that are both input and
# stored (sdk_options, notification_config) judge input only, never what was already stored.
STORED = "stored"
STORED_CONTEXT = {STORED: True, "allow_private_network": True}


def is_stored(info: ValidationInfo) -> bool:
    """Whether this validation loads a stored item (skip the rules that judge input)."""
    return isinstance(info.context, dict) and bool(info.context.get(STORED))


Item = TypeVar("Item", bound=BaseModel)


def utf8_at_most(limit: int, *, folded: bool = False) -> AfterValidator:
    """A string limit in UTF-8 bytes, as DynamoDB counts its item and key sizes (a character may take
    up to 4). With `folded`, the case-folded form (a name lock's key) is measured too."""

    def check(value: str | None) -> str | None:
        if value is None:
            return value
        size = max(len(value.encode("utf-8")), len(value.casefold().encode("utf-8")) if folded else 0)
        if size > limit:
            raise ValueError(f"at most {limit:,} bytes in UTF-8 (this is {size:,})")
        return value

    return AfterValidator(check)


def assembled(model: type[Item], values: dict[str, Any], *, defaulted: frozenset[str] = frozenset()) -> Item:
    """`model.model_construct(**values)` for values already valid that give every field by its name
    (`defaulted`: fields given their default value, which model_construct would not count as set).

    The same instance, built without model_construct's per-field alias and default lookups (issue
    23: those were most of the cost of a task's answer, and a list page builds 20). Values that do
    not name exactly the model's fields, or a model with private attributes, go through
    model_construct itself. tests/unit/api/test_task_answers.py compares the two.
    """
    if model.__pydantic_post_init__ or values.keys() != model.__pydantic_fields__.keys():
        return model.model_construct(**{k: v for k, v in values.items() if k not in defaulted})
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", values.keys() - defaulted)
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def utc_now() -> datetime:
    return datetime.now(UTC)


class Counted(NamedTuple):
    """A count, and whether it is exact (False: counting stopped at its bound, and there are at least
    `value`)."""

    value: int
    exact: bool


class Page(BaseModel, Generic[Item]):
    """A page of a list, with a total and an opaque cursor for the next page."""

    model_config = ConfigDict(populate_by_name=True)

    items: list[Item]
    page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=100)
    total: int = Field(ge=0)
    total_exact: bool = Field(
        default=True,
        description="False when `total` is a lower bound (at least this many): a list that grows without "
        "bound (a task's executions or reports, the audit trail) is counted over its newest 1,000 items.",
    )
    next_cursor: str | None = None
    links: dict[str, str] = Field(
        alias="_links", description="`self`, and `next` / `prev` where those pages exist."
    )
