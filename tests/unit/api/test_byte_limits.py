"""DynamoDB counts bytes: every limit that protects an item or key is in UTF-8 bytes, large parts of
an execution go to S3, and whatever DynamoDB still refuses is a 413/422, never a 500."""

from __future__ import annotations

from botocore.exceptions import ClientError

from agent_tasks.errors import ContentTooLargeError, ValidationFailedError
from agent_tasks.store import dynamo
from agent_tasks.store import executions as execution_store
from tests.support.api_calls import Api, valid_task

EMOJI = "\U0001f600"  # 4 bytes in UTF-8


def test_a_255_emoji_name_is_422_in_bytes_not_a_500(alice: Api) -> None:
    # Given a name of 255 emoji (1,020 bytes: the name lock's sort key would pass DynamoDB's 1,024)
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(name=EMOJI * 255))
    # Then 422 naming the field and the limit in bytes (it was a 500)
    assert status == 422, payload
    detail = payload["error"]["details"][0]
    assert detail["loc"] == ["body", "name"]
    assert "bytes" in detail["msg"]


def test_a_128_emoji_name_fits(alice: Api) -> None:
    status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task(name=EMOJI * 128))
    assert status == 201, payload


def test_a_100000_emoji_template_and_system_prompt_are_422_not_500(alice: Api) -> None:
    body = valid_task(
        prompt_template=EMOJI * 100_000,
        sdk_options={"model": "claude-sonnet-5-5", "system_prompt": EMOJI * 100_000},
    )
    status, payload, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 422, payload
    fields = {".".join(map(str, d["loc"])) for d in payload["error"]["details"]}
    assert {"body.prompt_template", "body.sdk_options.system_prompt"} <= fields


def test_the_largest_task_allowed_is_stored(alice: Api) -> None:
    # Given a template and system prompt at their byte limits, of 4-byte characters
    body = valid_task(
        prompt_template=EMOJI * 25_000,
        description=EMOJI * 2_500,
        sdk_options={"model": "claude-sonnet-5-5", "system_prompt": EMOJI * 25_000},
    )
    # Then the task item fits
    status, payload, _ = alice.call("POST", "/api/v1/tasks", body)
    assert status == 201, payload


def test_64_variables_of_10000_euro_signs_are_422_and_their_byte_limit_fits(alice: Api) -> None:
    # Given a task using 64 variables
    names = [f"v{i}" for i in range(64)]
    task = alice.create(prompt_template=" ".join("{{ " + n + " }}" for n in names))
    # When each is 10,000 "€" (30,000 bytes) / Then 422 in bytes (it was a 500 on execute)
    too_big = dict.fromkeys(names, "€" * 10000)
    status, payload, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/execute", {"variables": too_big})
    assert status == 422, payload
    assert "bytes" in payload["error"]["details"][0]["msg"]
    # And at the limit (10,000 bytes each, 640 KB in all) the execution is stored, its variables in S3
    at_limit = dict.fromkeys(names, "€" * 3333)
    status, started, _ = alice.call("POST", f"/api/v1/tasks/{task['id']}/execute", {"variables": at_limit})
    assert status == 202, started
    stored = execution_store.get(started["id"])
    assert stored is not None
    assert stored.prompt_variables == at_limit


def test_a_path_id_over_any_key_size_is_404_not_500(alice: Api) -> None:
    huge = "x" * 3_000
    for method, path in [("GET", f"/api/v1/tasks/{huge}"), ("POST", f"/api/v1/tasks/{huge}/execute")]:
        status, payload, _ = alice.call(method, path)
        assert status == 404, payload


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "PutItem")


def test_a_validation_exception_about_size_is_413_and_any_other_is_422() -> None:
    assert isinstance(
        dynamo.translate(
            _client_error("ValidationException", "Item size has exceeded the maximum allowed size")
        ),
        ContentTooLargeError,
    )
    assert isinstance(
        dynamo.translate(_client_error("ValidationException", "One or more parameter values were invalid")),
        ValidationFailedError,
    )


def test_an_item_dynamodb_refuses_is_413_from_the_api(alice: Api) -> None:
    # Given DynamoDB refusing the create transaction's item as too large (as a transaction reports it)
    from botocore.stub import Stubber

    from agent_tasks import aws

    with Stubber(aws.dynamodb()) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled",
            modeled_fields={
                "CancellationReasons": [
                    {"Code": "ValidationError", "Message": "Item size has exceeded the maximum allowed size"},
                    {"Code": "None"},
                    {"Code": "None"},
                ]
            },
        )
        # When a task is created / Then 413 in the one error shape, not a 500 (nor a 409)
        status, payload, _ = alice.call("POST", "/api/v1/tasks", valid_task())
    assert status == 413, payload
    assert payload["error"]["code"] == "content_too_large"
