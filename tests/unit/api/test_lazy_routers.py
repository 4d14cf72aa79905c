"""The API function includes only the task routes at import and every other router on the first
request for another path (functions/api/app.py): each answer must be what it would be with every
router included from the start."""

from __future__ import annotations

import itertools
import json
import re
from types import ModuleType
from typing import Any

from agent_tasks_local.lambdas import load_function_module
from tests.support.api_calls import Api, valid_task
from tests.support.fixtures import LambdaClient, load_function
from tests.support.template import PROJECT_ROOT

_fresh = itertools.count()
EARLY_TAGS = {"tasks", "health"}  # the tags of the routers included at import (health, tasks)


def _fresh_api() -> ModuleType:
    """The API function's module as a cold start loads it: a new module, no request answered yet."""
    return load_function_module(PROJECT_ROOT / "functions" / "api", "app", f"test_lazy_api_{next(_fresh)}")


def _operations() -> list[tuple[str, str, list[str]]]:
    document = json.loads(load_function("api")._openapi_document())
    return [
        (path, method.upper(), operation.get("tags", []))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{\w+\}", "some-id", path)


def test_a_path_is_answered_before_the_other_routers_are_included_only_if_the_task_routers_serve_it() -> None:
    # Given every operation of the whole document, and the paths the module routes before including the rest
    early_paths = _fresh_api()._EARLY_PATHS
    for path, method, tags in _operations():
        # When a request comes for it as the first one
        routed_early = bool(early_paths.match(_concrete(path)))
        # Then it is routed before the other routers are included exactly when a task or health
        # route answers it (no later route could have matched it, with any method)
        assert routed_early == bool(EARLY_TAGS & set(tags)), (method, path, tags)


def test_the_first_request_for_a_later_routers_path_is_answered_by_that_router(aws: dict[str, str]) -> None:
    # Given a cold API function
    alice = Api(LambdaClient(_fresh_api(), "api"), "alice")
    # When its first request is for the audit log (a router not included at import)
    status, payload, _ = alice.call("GET", "/api/v1/audit-events")
    # Then the audit router answers it
    assert status == 200, payload
    assert payload["items"] == []


def test_a_wrong_method_on_a_task_path_as_the_first_request_names_every_allowed_method(
    aws: dict[str, str],
) -> None:
    # Given a cold API function
    alice = Api(LambdaClient(_fresh_api(), "api"), "alice")
    # When its first request is a method no route of a task path has
    status, payload, headers = alice.call("PUT", "/api/v1/tasks/some-id")
    # Then it is a 405 naming the methods of the whole document
    assert status == 405, payload
    assert headers["Allow"] == "DELETE, GET, PATCH"


def test_the_document_is_the_same_whatever_the_first_request(aws: dict[str, str]) -> None:
    # Given one cold function that first answers a create, and one that first serves its document
    first_create = _fresh_api()
    created = Api(LambdaClient(first_create, "api"), "alice").call("POST", "/api/v1/tasks", valid_task())
    first_document = _fresh_api()
    document: Any = first_document._openapi_document()
    # Then both serve the same document, byte for byte
    assert created[0] == 201
    assert first_create._openapi_document() == document
