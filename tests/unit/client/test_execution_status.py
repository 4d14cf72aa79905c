"""The client's ExecutionStatus (written by hand: the document inlines the enum, so the generated
models have no name for it) must list what the API answers."""

from __future__ import annotations

from typing import get_args, get_type_hints

from agent_tasks_client import models
from agent_tasks_client.client import TERMINAL_STATUSES, ExecutionStatus


def test_the_clients_execution_statuses_are_the_generated_models_ones() -> None:
    # Given the status field of the generated execution answer
    answered = get_args(get_type_hints(models.ExecutionResponse)["status"])
    # When the client's own alias and terminal set are read
    # Then they name the same statuses, and every terminal one is one of them
    assert sorted(get_args(ExecutionStatus)) == sorted(answered)
    assert set(TERMINAL_STATUSES) <= set(answered)
