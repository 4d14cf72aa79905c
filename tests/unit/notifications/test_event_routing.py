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


_DOUBLED = "@" + " | [@, @]" * 55  # each step doubles the tree the next one walks: 2^55 values


@pytest.mark.parametrize(
    "expression",
    [
        f"to_string({_DOUBLED})",  # serialises the whole tree
        "(@" + " | [@, @]" * 27 + ") == (@" + " | [@, @]" * 27 + ")",  # compares it item by item
        "length(" + "@" + " | [@, @]" * 28 + "[]" * 28 + ")",  # flattens it into a real list
        "length(join(text, words))",  # repeats a long separator once per word
    ],
)
def test_an_only_if_that_asks_too_much_work_stops_within_its_budget(expression: str) -> None:
    # Given an expression of at most the allowed length whose work grows far beyond the event's size
    assert len(expression) <= 512
    event = {"text": "x" * 100_000, "words": ["a"] * 50_000}
    # When it is evaluated / Then it stops, spending no more than the budget, and the event is skipped
    with pytest.raises(conditions.TooMuchWork):
        conditions.evaluate(expression, event)
    go, why_not = conditions.holds(expression, event)
    assert (go, why_not) == (False, "only_if could not be evaluated: TooMuchWork")


def test_an_only_if_over_the_whole_event_stays_within_its_budget() -> None:
    # Given an event near the bus's size limit and expressions that read all of it
    event = {"structured_output": {"items": [{"name": f"item-{i}", "ok": i % 2 == 0} for i in range(8000)]}}
    # Then they are evaluated
    assert conditions.holds("length(structured_output.items[?ok]) > `3000`", event) == (True, None)
    assert conditions.holds("contains(to_string(@), 'item-7999')", event) == (True, None)


def test_the_notifier_publishes_in_the_services_own_account_only_where_a_topic_allows_it() -> None:
    # Given the notifier's SNS grant in the template
    statements = load_template()["Resources"]["NotifierFunction"]["Properties"]["Policies"][0]["Statement"]
    (publish,) = [s for s in statements if "sns:Publish" in s["Action"]]
    # Then it never covers the stack's own account: there only a topic's own policy lets it publish
    assert publish["Condition"] == {"StringNotEquals": {"aws:ResourceAccount": {"Ref": "AWS::AccountId"}}}
