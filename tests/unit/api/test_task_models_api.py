"""A task's model options checked against the model catalogue and the price table (create and PATCH)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent_tasks.agent import model_catalog
from agent_tasks.store import model_catalog as catalog_store
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient

SCHEMA = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}


@pytest.fixture
def alice(api: LambdaClient) -> Api:
    return Api(api, "alice")


def refused(alice: Api, sdk_options: dict[str, Any], **fields: Any) -> tuple[list[str], str]:
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(sdk_options=sdk_options, **fields))
    assert status == 422, payload
    details = payload["error"]["details"]
    return [".".join(str(p) for p in d["loc"]) for d in details], details[0]["msg"]


def test_a_task_with_no_model_gets_the_default_model(alice: Api) -> None:
    task = alice.create()
    assert task["sdk_options"]["model"] == "claude-sonnet-5-5"
    assert task["warnings"] == []


def test_an_unknown_model_is_refused_listing_the_current_ones(alice: Api) -> None:
    fields, message = refused(alice, {"model": "claude-mystery-9"})
    assert fields == ["body.sdk_options.model"]
    assert "unknown model 'claude-mystery-9'" in message
    assert "claude-sonnet-5-5" in message
    assert "claude-sonnet-4-5," not in message  # retired: not current


def test_a_retired_model_is_refused_with_its_date_and_replacement(alice: Api) -> None:
    fields, message = refused(alice, {"model": "claude-sonnet-4-5-20250929"})
    assert fields == ["body.sdk_options.model"]
    assert message == "model 'claude-sonnet-4-5' was retired on 2026-11-30; use claude-sonnet-5-5 instead"


def test_a_retired_fallback_model_is_refused(alice: Api) -> None:
    fields, _ = refused(alice, {"fallback_model": "claude-mythos-preview"})
    assert fields == ["body.sdk_options.fallback_model"]


@pytest.mark.parametrize(
    ("options", "field", "text"),
    [
        (
            {"model": "claude-haiku-4-5", "max_tokens": 100_000},
            "max_tokens",
            "above claude-haiku-4-5's max_tokens",
        ),
        ({"model": "claude-haiku-4-5", "effort": "high"}, "effort", "does not support effort 'high'"),
        ({"model": "claude-opus-4-5", "effort": "max"}, "effort", "it supports low, medium, high"),
        (
            {"model": "claude-sonnet-5-5", "temperature": 0.2},
            "temperature",
            "refuses a non-default temperature",
        ),
        ({"temperature": 0.0}, "temperature", "refuses"),
        ({"fallback_model": "claude-haiku-4-5", "max_tokens": 100_000}, "max_tokens", "fallback model"),
    ],
)
def test_options_the_model_refuses_are_422_naming_the_field(
    alice: Api, options: dict[str, Any], field: str, text: str
) -> None:
    fields, message = refused(alice, options)
    assert fields == [f"body.sdk_options.{field}"]
    assert text in message


def test_options_the_model_takes_are_accepted(alice: Api) -> None:
    task = alice.create(
        sdk_options={"model": "claude-sonnet-4-6", "temperature": 0.2, "effort": "high", "max_tokens": 64_000}
    )
    assert task["sdk_options"]["effort"] == "high"
    assert alice.create(name="t2", sdk_options={"temperature": 1.0})["sdk_options"]["temperature"] == 1.0


def test_a_deprecated_model_is_accepted_with_a_warning(alice: Api) -> None:
    task = alice.create(sdk_options={"model": "claude-opus-4-5"})
    assert task["warnings"] == [
        "model 'claude-opus-4-5' is deprecated and retires on 2027-01-22; consider claude-opus-5-5"
    ]
    assert alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]["warnings"] == task["warnings"]


def test_a_budget_on_an_unpriced_model_is_refused(alice: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_tasks.settings import get_settings

    monkeypatch.setenv("PRICE_TABLE_JSON", '{"version": "no-opus-5", "models": {"claude-opus-5": []}}')
    get_settings.cache_clear()
    fields, message = refused(alice, {"model": "claude-opus-5", "max_budget_usd": 1.0})
    assert fields == ["body.sdk_options.max_budget_usd"]
    assert "no price in price table 2026-12-02+no-opus-5" in message
    # And without a budget the same model is fine (its cost is then reported as unknown)
    assert alice.create(sdk_options={"model": "claude-opus-5"})["sdk_options"]["model"] == "claude-opus-5"


def test_patch_checks_a_changed_model_and_leaves_other_edits_alone(alice: Api) -> None:
    task = alice.create()
    status, payload, _ = alice.call(
        "PATCH", f"/api/v1/tasks/{task['id']}", {"sdk_options": {"model": "claude-sonnet-4-5"}}
    )
    assert status == 422
    assert payload["error"]["details"][0]["loc"] == ["body", "sdk_options", "model"]
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {"description": "still fine"})
    assert status == 200, payload


def test_a_model_retiring_within_30_days_is_a_warning_on_the_answer(alice: Api) -> None:
    # Given the cached Models API catalogue says the task's model retires in 10 days
    task = alice.create(sdk_options={"model": "claude-sonnet-5"})
    now = datetime.now(UTC)
    retires = (now + timedelta(days=10)).date()
    snapshot = model_catalog.snapshot().model_dump(mode="json")
    for entry in snapshot["models"]:
        if entry["id"] == "claude-sonnet-5":
            entry.update(lifecycle="deprecated", retires_at=retires.isoformat())
    catalog_store.put_cached(snapshot, expires_at=now + timedelta(hours=1))
    model_catalog.forget_process_cache()

    # When the task is read
    answer = alice.call("GET", f"/api/v1/tasks/{task['id']}")[1]

    # Then its answer warns, naming the date and the replacement
    assert answer["warnings"] == [
        f"model 'claude-sonnet-5' retires on {retires.isoformat()}; consider claude-sonnet-5-5"
    ]


@pytest.mark.parametrize(
    ("schema", "text"),
    [
        ({"type": "objekt"}, "not a valid JSON Schema"),
        ({"type": "object", "required": "total"}, "not a valid JSON Schema"),
        ({"type": "object", "description": "x" * 17_000}, "at most 16384"),
    ],
)
def test_an_output_schema_is_checked_as_a_schema(alice: Api, schema: dict[str, Any], text: str) -> None:
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(output_schema=schema))
    assert status == 422, payload
    assert payload["error"]["details"][0]["loc"] == ["body", "output_schema"]
    assert text in payload["error"]["details"][0]["msg"]


def test_a_valid_output_schema_is_kept(alice: Api) -> None:
    task = alice.create(output_schema=SCHEMA)
    assert task["output_schema"] == SCHEMA
