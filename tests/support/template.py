"""Test resources built from template.yaml itself, so tests cannot drift from it."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from agent_tasks_local.deploy import load_template

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


@cache
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def table_definition() -> dict[str, Any]:
    """CreateTable arguments for the template's table (keys, indexes, billing)."""
    properties = template()["Resources"]["Table"]["Properties"]
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in properties["GlobalSecondaryIndexes"]
    ]
    return {
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "KeySchema": properties["KeySchema"],
        "GlobalSecondaryIndexes": indexes,
        "BillingMode": properties["BillingMode"],
    }


def create_table(client: Any, name: str) -> None:
    client.create_table(TableName=name, **table_definition())
    ttl = template()["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"]
    client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
