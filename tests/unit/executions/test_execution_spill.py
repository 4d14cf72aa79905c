"""An execution item stays under DynamoDB's 400 KB: what grows (rendered prompt, final text, the task
snapshot, variables) goes to S3 past 64 KB, and reads back the same."""

from __future__ import annotations

import boto3

from agent_tasks.models.executions import ResultData
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from tests.support.executions import pending_execution, stored_task

EMOJI = "\U0001f600"


def _item_bytes(execution_id: str) -> int:
    item = boto3.client("dynamodb").get_item(
        TableName=get_settings().table_name, Key=execution_store.execution_key(execution_id)
    )["Item"]
    return len(str(item).encode("utf-8"))


def test_a_420000_character_answer_completes_the_run_and_reads_back(aws: dict[str, str]) -> None:
    # Given a running execution
    execution_id = pending_execution(stored_task())
    answer = EMOJI * 420_000  # 1.68 MB: the run used to end failed ("Item size ... exceeded")
    # When its final text and a large rendered prompt are stored
    stored = execution_store.update(
        execution_id,
        {
            "status": "completed",
            "rendered_prompt": "€" * 100_000,
            "result_data": ResultData(final_text=answer, outcome="completed").model_dump(mode="json"),
        },
        status_in={"pending"},
    )
    # Then the update succeeds, the item stays small, and both read back exactly
    assert stored is not None
    assert stored.status == "completed"
    assert _item_bytes(execution_id) < 64_000
    again = execution_store.get(execution_id)
    assert again is not None
    assert again.result_data is not None
    assert again.result_data.final_text == answer
    assert again.rendered_prompt == "€" * 100_000
    # And the parts are in S3 under the execution's key, encrypted
    part = boto3.client("s3").get_object(
        Bucket=aws["BUCKET_NAME"], Key=execution_store.spill_key(execution_id, "result_data")
    )
    assert part["ServerSideEncryption"] == "AES256"


def test_a_large_snapshot_and_variables_are_spilled_when_the_execution_is_created(
    aws: dict[str, str],
) -> None:
    # Given a task at its byte limits and 64 variables of 10,000 bytes
    task = stored_task(
        prompt_template=EMOJI * 25_000,
        sdk_options={"model": "claude-sonnet-5-5", "system_prompt": EMOJI * 25_000},
    )
    variables = {f"v{i}": "€" * 3_333 for i in range(64)}
    # When its execution is written
    execution_id = pending_execution(task, variables)
    # Then the item is small and everything reads back
    assert _item_bytes(execution_id) < 64_000
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.prompt_variables == variables
    assert execution.task_snapshot["prompt_template"] == EMOJI * 25_000


def test_a_small_value_replaces_a_spilled_one(aws: dict[str, str]) -> None:
    execution_id = pending_execution(stored_task())
    execution_store.update(execution_id, {"rendered_prompt": "x" * 70_000})
    execution_store.update(execution_id, {"rendered_prompt": "short"})
    execution = execution_store.get(execution_id)
    assert execution is not None
    assert execution.rendered_prompt == "short"
