"""The local deploy folds DefinitionSubstitutions into moto's Fn::Sub; a context-object path (`$$.Task.Token`,
how a `.waitForTaskToken` state passes its token) must reach the interpreter as written."""

from __future__ import annotations

import json
from typing import Any

from moto.cloudformation.parsing import clean_json

from agent_tasks_local.deploy import _apply_definition_substitutions


def test_context_object_paths_survive_motos_fn_sub() -> None:
    # Given a state machine definition with two substitutions and a `$$.` context path
    definition = json.dumps(
        {"Parameters": {"FunctionName": "${A}", "Other": "${B}", "task_token.$": "$$.Task.Token"}}
    )
    transformed: dict[str, Any] = {
        "Resources": {
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "DefinitionString": definition,
                    "DefinitionSubstitutions": {"A": "fa", "B": "fb"},
                },
            }
        }
    }
    # When the deploy step folds the substitutions in and moto's CloudFormation resolves the Fn::Sub
    _apply_definition_substitutions(transformed)
    resolved = clean_json(transformed["Resources"]["Machine"]["Properties"]["DefinitionString"], {})
    # Then the substitutions are made and the context path is what the template wrote
    assert json.loads(resolved)["Parameters"] == {
        "FunctionName": "fa",
        "Other": "fb",
        "task_token.$": "$$.Task.Token",
    }
