"""The shipped model catalogue agrees with the deprecation list of the installed `anthropic` SDK.

The SDK warns on a call to a deprecated model and names the day it reaches end of life. When the
SDK is upgraded (we keep it at its newest release) and its list moves, the catalogue the service
ships must move with it, or a task could keep naming a model the platform is about to retire
without the warnings and the check at create telling its owner.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from agent_tasks.agent import model_catalog


def _sdk_deprecations() -> dict[str, str]:
    # A private module of the SDK: if it moves, this import fails and says where to look.
    from anthropic._data import DEPRECATED_MODELS

    return dict(DEPRECATED_MODELS)


def _end_of_life(text: str) -> date:
    """'January 22nd, 2027' as the SDK writes it."""
    plain = re.sub(r"(\d+)(st|nd|rd|th),", r"\1,", text.strip())
    return datetime.strptime(plain, "%B %d, %Y").date()


def test_the_sdks_date_parser_reads_its_own_spelling() -> None:
    assert _end_of_life("January 22nd, 2027") == date(2027, 1, 22)
    assert _end_of_life("June 30th, 2026") == date(2026, 6, 30)
    assert _end_of_life("March 1st, 2026") == date(2026, 3, 1)


def test_every_model_the_sdk_deprecates_is_deprecated_or_retired_in_the_catalogue_on_its_day() -> None:
    # Given the catalogue the package ships, and the SDK's deprecation list
    catalogue = model_catalog.snapshot()
    deprecations = _sdk_deprecations()

    # When each deprecated model the catalogue knows is looked up
    known = {model: catalogue.get(model) for model in deprecations}
    listed = {model: entry for model, entry in known.items() if entry is not None}

    # Then the SDK's list is not empty (else this test checks nothing) and names catalogue models
    assert listed, f"none of the SDK's deprecated models {sorted(deprecations)} is in the catalogue"
    # And each is no longer active, and retires on the day the SDK names
    for model, entry in listed.items():
        assert entry.lifecycle in ("deprecated", "retired"), f"{model} is {entry.lifecycle} in the catalogue"
        assert entry.retires_at == _end_of_life(deprecations[model]), (
            f"{model}: the catalogue retires it on {entry.retires_at}, the SDK on {deprecations[model]}"
        )
