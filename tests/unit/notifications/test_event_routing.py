"""One mapping of bus detail-types to `on` values, and the notifier's rule routes exactly those;
conditions are evaluated as JMESPath defines truth."""

from __future__ import annotations

from typing import Any

import pytest

from agent_tasks.models.notifications import DETAIL_TYPE_BY_ON, ON_BY_DETAIL_TYPE, NotifyOn
from agent_tasks.notify import conditions
from tests.support.template import template as load_template


def test_the_notifiers_rule_routes_exactly_the_mapped_detail_types() -> None:
    # Given the template's rule for the notifier
    events = load_template()["Resources"]["NotifierFunction"]["Properties"]["Events"]
    pattern = events["Notifications"]["Properties"]["Pattern"]
    # Then it matches our source and every detail-type an `on` value asks for, and no other
    assert pattern["source"] == ["agent-tasks"]
    assert sorted(pattern["detail-type"]) == sorted(ON_BY_DETAIL_TYPE)
    # And every `on` value has its detail-type
    assert set(DETAIL_TYPE_BY_ON) == set(NotifyOn.__args__)


@pytest.mark.parametrize(
    ("expression", "event", "holds"),
    [
        ("status == 'failed'", {"status": "failed"}, True),
        ("status == 'failed'", {"status": "completed"}, False),
        ("structured_output.problems", {"structured_output": {"problems": []}}, False),
        ("structured_output.problems", {"structured_output": {"problems": ["disk"]}}, True),
        ("cost_usd > `0.5`", {"cost_usd": 0.75}, True),
        ("cost_usd > `0.5`", {"cost_usd": None}, False),
        ("missing.deeply.nested", {}, False),
        ("duration_seconds", {"duration_seconds": 0}, True),  # JMESPath: numbers are truthy
    ],
)
def test_only_if_is_truthy_as_jmespath_says(expression: str, event: dict[str, Any], holds: bool) -> None:
    assert conditions.holds(expression, event)[0] is holds
