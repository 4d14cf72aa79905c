"""The model catalogue: which Claude models exist, their lifecycle, limits and capabilities.

Read from the Models API when a provider with credentials is configured (the executor refreshes
it, see `refresh`), cached in the table for at most a day, and otherwise from the snapshot
shipped with the package (`agent/data/models.json`, with the date it was taken). Two request
rules the Models API does not publish (whether a non-default `temperature` and a forced
`tool_choice` are accepted) come from the snapshot and are merged onto what the API answers.

The API validates tasks with it, so this module never imports `anthropic`.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent_tasks.agent.model_ids import base_model_id
from agent_tasks.observability import logger

Lifecycle = Literal["active", "deprecated", "retired"]
EffortLevel = Literal["low", "medium", "high", "xhigh", "max"]
EFFORT_LEVELS: tuple[str, ...] = ("low", "medium", "high", "xhigh", "max")
RETIRING_WITHIN = timedelta(days=30)
# How long one process keeps the catalogue it read from the table before reading it again.
PROCESS_CACHE_SECONDS = 300.0


class ModelCapabilities(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    structured_outputs: bool = False
    effort: list[EffortLevel] = Field(default_factory=list)
    thinking: list[str] = Field(default_factory=list)
    temperature: bool = True  # a non-default temperature is accepted
    forced_tool_choice: bool = True  # tool_choice "any" / "tool" is accepted


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    display_name: str
    line: str | None = None
    lifecycle: Lifecycle
    created_at: date | None = None
    deprecated_at: date | None = None
    retires_at: date | None = None
    max_input_tokens: int | None = None
    max_tokens: int | None = None
    capabilities: ModelCapabilities = Field(default_factory=ModelCapabilities)


class ModelCatalogue(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    taken_at: datetime
    source: str
    models: list[ModelEntry]

    def get(self, model: str) -> ModelEntry | None:
        """The entry for a model id, in any platform's or date's spelling."""
        wanted = base_model_id(model)
        for entry in self.models:
            if entry.id == model or entry.id == wanted:
                return entry
        return None

    def current_ids(self) -> list[str]:
        """The ids a task may name (active and deprecated), newest first."""
        usable = [m for m in self.models if m.lifecycle != "retired"]
        return [m.id for m in sorted(usable, key=lambda m: m.created_at or date.min, reverse=True)]

    def replacement_for(self, entry: ModelEntry) -> ModelEntry | None:
        """The newest active model of the same line."""
        same_line = [
            m for m in self.models if m.line == entry.line and m.lifecycle == "active" and m.id != entry.id
        ]
        return max(same_line, key=lambda m: m.created_at or date.min) if same_line else None


# -- where the catalogue comes from ---------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _snapshot_document() -> dict[str, Any]:
    text = resources.files("agent_tasks.agent").joinpath("data/models.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.lru_cache(maxsize=1)
def snapshot() -> ModelCatalogue:
    document = _snapshot_document()
    return ModelCatalogue(
        taken_at=datetime.fromisoformat(document["taken_at"]).replace(tzinfo=UTC),
        source="snapshot",
        models=[ModelEntry.model_validate(m) for m in document["models"]],
    )


def _supported(value: Any) -> bool:
    return bool(isinstance(value, dict) and value.get("supported"))


def entry_from_api(info: dict[str, Any]) -> ModelEntry:
    """A Models API `ModelInfo` (as JSON) as a catalogue entry; request rules from the snapshot."""
    capabilities = info.get("capabilities") or {}
    effort = capabilities.get("effort") or {}
    thinking = capabilities.get("thinking") or {}
    known = snapshot().get(str(info["id"]))
    rules = known.capabilities if known is not None else ModelCapabilities()

    def day(value: Any) -> date | None:
        return datetime.fromisoformat(str(value)).date() if value else None

    return ModelEntry(
        id=str(info["id"]),
        display_name=str(info.get("display_name") or info["id"]),
        line=info.get("line"),
        lifecycle=info.get("lifecycle") or "active",
        created_at=day(info.get("created_at")),
        deprecated_at=day(info.get("deprecated_at")),
        retires_at=day(info.get("retires_at")),
        max_input_tokens=info.get("max_input_tokens"),
        max_tokens=info.get("max_tokens"),
        capabilities=ModelCapabilities(
            structured_outputs=_supported(capabilities.get("structured_outputs")),
            effort=[lvl for lvl in EFFORT_LEVELS if effort.get("supported") and _supported(effort.get(lvl))],  # type: ignore[misc]
            thinking=[t for t, v in (thinking.get("types") or {}).items() if _supported(v)],
            temperature=rules.temperature,
            forced_tool_choice=rules.forced_tool_choice,
        ),
    )


def catalogue_from_api(infos: Iterable[dict[str, Any]], *, taken_at: datetime) -> ModelCatalogue:
    return ModelCatalogue(
        taken_at=taken_at, source="models_api", models=[entry_from_api(info) for info in infos]
    )


_process_cache: tuple[float, ModelCatalogue] | None = None


def current() -> ModelCatalogue:
    """The cached Models API catalogue when the table holds a fresh one, else the shipped snapshot."""
    global _process_cache
    if _process_cache is not None and time.monotonic() - _process_cache[0] < PROCESS_CACHE_SECONDS:
        return _process_cache[1]
    from agent_tasks.store import model_catalog as catalog_store

    catalogue = snapshot()
    try:
        cached = catalog_store.get_cached(datetime.now(UTC))
    except Exception as error:  # noqa: BLE001 - the snapshot is a safe answer when the table is not
        logger.warning("model catalogue cache unreadable", extra={"error": type(error).__name__})
        cached = None
    if cached is not None:
        catalogue = ModelCatalogue.model_validate(cached)
    _process_cache = (time.monotonic(), catalogue)
    return catalogue


def forget_process_cache() -> None:
    global _process_cache
    _process_cache = None


def refresh(fetch: Callable[[], list[dict[str, Any]]], *, ttl_seconds: int) -> ModelCatalogue:
    """Read the Models API (through `fetch`) unless the table holds a fresh copy; cache what it says."""
    from agent_tasks.store import model_catalog as catalog_store

    now = datetime.now(UTC)
    cached = catalog_store.get_cached(now)
    if cached is not None:
        return ModelCatalogue.model_validate(cached)
    catalogue = catalogue_from_api(fetch(), taken_at=now)
    catalog_store.put_cached(
        catalogue.model_dump(mode="json"), expires_at=now + timedelta(seconds=ttl_seconds)
    )
    forget_process_cache()
    logger.info("model catalogue refreshed", extra={"models": len(catalogue.models)})
    return catalogue


# -- what the catalogue says about a task's options -----------------------------------------------------


class ModelProblem(BaseModel):
    """One rule a task's model options break: the field and why."""

    field: str
    message: str


def retirement_text(entry: ModelEntry, catalogue: ModelCatalogue) -> str:
    replacement = catalogue.replacement_for(entry)
    when = f" on {entry.retires_at.isoformat()}" if entry.retires_at else ""
    instead = f"; use {replacement.id} instead" if replacement else ""
    return f"model {entry.id!r} was retired{when}{instead}"


def check_model(
    field: str, model: str, catalogue: ModelCatalogue
) -> tuple[ModelEntry | None, list[ModelProblem]]:
    entry = catalogue.get(model)
    if entry is None:
        return None, [
            ModelProblem(
                field=field,
                message=f"unknown model {model!r}; current models are {', '.join(catalogue.current_ids())}",
            )
        ]
    if entry.lifecycle == "retired":
        return entry, [ModelProblem(field=field, message=retirement_text(entry, catalogue))]
    return entry, []


def check_request_options(
    entry: ModelEntry, *, field_prefix: str, max_tokens: int, effort: str | None, temperature: float | None
) -> list[ModelProblem]:
    """What a request with these options would be refused for on `entry`'s model."""
    problems = []
    if entry.max_tokens is not None and max_tokens > entry.max_tokens:
        problems.append(
            ModelProblem(
                field=f"{field_prefix}max_tokens",
                message=f"{max_tokens} is above {entry.id}'s max_tokens of {entry.max_tokens}",
            )
        )
    if effort is not None and effort not in entry.capabilities.effort:
        levels = ", ".join(entry.capabilities.effort) or "none (it takes no effort setting)"
        problems.append(
            ModelProblem(
                field=f"{field_prefix}effort",
                message=f"{entry.id} does not support effort {effort!r}; it supports {levels}",
            )
        )
    if temperature is not None and temperature != 1.0 and not entry.capabilities.temperature:
        problems.append(
            ModelProblem(
                field=f"{field_prefix}temperature",
                message=f"{entry.id} refuses a non-default temperature (the API answers 400); leave it unset",
            )
        )
    return problems


def lifecycle_warnings(models: Iterable[str], catalogue: ModelCatalogue, now: datetime) -> list[str]:
    """Warnings for deprecated models and models that retire within 30 days."""
    warnings = []
    for model in dict.fromkeys(models):
        entry = catalogue.get(model)
        if entry is None:
            continue
        if entry.lifecycle == "retired":
            warnings.append(retirement_text(entry, catalogue))
            continue
        replacement = catalogue.replacement_for(entry)
        instead = f"; consider {replacement.id}" if replacement else ""
        if entry.retires_at is not None and entry.retires_at <= (now + RETIRING_WITHIN).date():
            warnings.append(f"model {entry.id!r} retires on {entry.retires_at.isoformat()}{instead}")
        elif entry.lifecycle == "deprecated":
            when = f" and retires on {entry.retires_at.isoformat()}" if entry.retires_at else ""
            warnings.append(f"model {entry.id!r} is deprecated{when}{instead}")
    return warnings
