"""The OpenAPI document says what the API does: null where null is taken, the known tools, the
variable-name pattern."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agent_tasks.agent import catalog
from tests.support.api_calls import Api
from tests.support.fixtures import load_function


def _schemas() -> dict[str, Any]:
    document = json.loads(load_function("api")._openapi_document())
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


def _allows_null(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(o.get("type") == "null" for o in schema.get("anyOf", []))


@pytest.mark.parametrize("field", sorted(_schemas()["TaskUpdate"]["properties"]))
def test_a_patch_field_is_nullable_in_the_document_exactly_when_the_api_takes_null(
    alice: Api, field: str
) -> None:
    # Given a task and what the document says of one PATCH field
    task = alice.create(generate_report=True, report_format="html")
    nullable = _allows_null(_schemas()["TaskUpdate"]["properties"][field])
    # When that field is patched to null
    status, payload, _ = alice.call("PATCH", f"/api/v1/tasks/{task['id']}", {field: None})
    # Then the API takes it when the document says nullable, and refuses it when not (13 said so falsely)
    refused_as_null = status == 422 and "cannot be null" in json.dumps(payload)
    assert refused_as_null != nullable, (field, status, payload)


def test_the_tool_lists_name_the_known_tools() -> None:
    for model in ("TaskCreate", "TaskUpdate"):
        prop = _schemas()[model]["properties"]["allowed_tools"]
        items = prop["items"] if "items" in prop else prop["anyOf"][0]["items"]
        known, mcp = items["anyOf"]
        assert known["enum"] == catalog.known_tool_names()
        assert re.match(mcp["pattern"], "mcp__github__search_code")
        assert not re.match(mcp["pattern"], "ssh")


def test_variable_names_carry_their_pattern() -> None:
    variables = _schemas()["ExecuteRequest"]["properties"]["variables"]
    assert variables["propertyNames"] == {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
    assert variables["maxProperties"] == 64
