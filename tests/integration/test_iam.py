"""IAM in the local cloud is AWS's: each function calls with its own role from template.yaml.

The flows pass only with the template's policies (a grant taken away fails as AccessDenied), and
every action a function's policy grants is used by some flow, or is listed here with the reason
it stays (least privilege both ways).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import boto3
import httpx2 as httpx
import pytest

from agent_tasks.store import executions as execution_store
from agent_tasks.store.concurrency import slot_key
from agent_tasks_local.iam import granted_actions
from tests.support.approvals import finished_run, waiting_request
from tests.support.cancel_other import cancel_other_flow, end_flow
from tests.support.events import EVENTS_DIR
from tests.support.executions import TERMINAL, api_client, finished, pending_execution, stored_task
from tests.support.polling import wait_until

# Grants no local flow exercises, each with why it stays.
JUSTIFIED_UNUSED: dict[str, dict[str, str]] = {
    "ExecutorFunction": {
        "s3:PutObject": "saves the workspace when a run outlives one invocation, and transcript parts too "
        "large for an item (tests/integration/test_executions_flow.py resumes a run)",
        "bedrock:InvokeModel": "the Bedrock provider (ModelProvider=bedrock); no Bedrock locally",
        "bedrock:InvokeModelWithResponseStream": "the Bedrock provider streams; no Bedrock locally",
        "ssm:GetParameter": "reads the Anthropic key when AnthropicApiKeyParameter names an SSM parameter",
        "secretsmanager:GetSecretValue": "reads the Anthropic key when it is a Secrets Manager secret",
        "s3:PutObjectTagging": "tags transcript parts too large for an item with their retention class "
        "(retention.py), so the bucket's lifecycle expires them with the execution",
        "dynamodb:DeleteItem": "a run's end promotes a queued execution, removing its queue entry "
        "(this test's promotion is made by the reconciler; tests/unit/executions/test_concurrency.py)",
        "dynamodb:BatchGetItem": "checks a full run-slot set's holders for leaks (concurrency.py)",
        "sqs:SendMessage": "a run's end hands a promoted execution's start to the start queue",
        "states:SendTaskSuccess": "await_approval hands a token straight back when the request was answered "
        "before the wait began (a race an answer within milliseconds of the request wins); a run's end "
        "promotes a run queued at its slot and answers its WaitForTurn token (test_schedule_turn_flow.py)",
        "states:SendTaskFailure": "releases a wait when the execution ends in a step while waiting (e.g. "
        "MarkFailed), or when the awaited request is missing",
        "states:StopExecution": "a scheduled run started ahead of its slot, under overlap_policy "
        "cancel_other, stops the task's runs going at its slot (services/slot_time.py; "
        "tests/unit/schedules/test_lookahead.py)",
    },
    "ExecutionStateMachine": dict.fromkeys(
        (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ),
        "Step Functions itself delivers the workflow's ERROR logs to CloudWatch Logs with these",
    ),
    "ReporterFunction": {
        "s3:GetObject": "reads transcript parts that were too large for an item",
        "s3:PutObjectTagging": "tags a report file with its retention class (retention.py), when the IAM "
        "check counts the PutObject's Tagging header apart",
    },
    "ApiFunction": {
        "s3:PutObject": "an execution field over 64 KB (snapshot, variables, prompt, result) goes to S3 "
        "(tests/unit/api/test_byte_limits.py and the executions flow test)",
    },
    "ReconcilerFunction": {
        "s3:GetObject": "reads an execution's fields that were spilled to S3 (over 64 KB)",
        "dynamodb:BatchGetItem": "checks a full run-slot set's holders for leaks (concurrency.py)",
        "dynamodb:Query": "a reconciled end frees a run slot and reads the owner's queue to promote",
        "dynamodb:DeleteItem": "a reconciled end promotes a queued execution (its queue entry goes)",
        "sqs:SendMessage": "a reconciled end hands a promoted execution's start to the start queue "
        "(this flow promotes through the API's cancel, the same end path)",
        "states:SendTaskSuccess": "a reconciled end may promote a run queued at its slot and answer the "
        "token its workflow waits on (WaitForTurn; tests/unit/schedules/test_turn_token.py)",
    },
    "NotifierFunction": {
        "kms:GenerateDataKey": "SNS uses an encrypted user topic's KMS key on the publisher's behalf; "
        "moto's SNS does not encrypt",
        "kms:Decrypt": "the same, for an encrypted user topic",
        "sqs:SendMessage": "Lambda itself sends an event whose deliveries kept failing to the dead-letter "
        "queue (tests/integration/test_notifications_flow.py sees it land there)",
    },
    "StarterFunction": {
        "events:PutEvents": "announces an execution whose workflow could not be started",
        "dynamodb:DeleteItem": "a start that fails ends the run, which may promote a queued one",
        "dynamodb:BatchGetItem": "checks a full run-slot set's holders for leaks (concurrency.py)",
        "sqs:SendMessage": "a start that fails ends the run, which may promote a queued one",
        "states:SendTaskSuccess": "a start that fails ends the run, which may promote a run queued at its "
        "slot and answer the token its workflow waits on (WaitForTurn)",
    },
    "SchedulerFunction": {
        "dynamodb:BatchGetItem": "the daily model-retirement check reads the tasks its model-use items name, "
        "on the first tick of a UTC day only (this test's tick may not be the first in its local cloud); "
        "and a full run-slot set's holders are checked for leaks (concurrency.py)",
        "events:PutEvents": "publishes SchedulePaused / ModelRetiring (task events)",
        "sqs:SendMessage": "Lambda itself sends a failed asynchronous tick to the dead-letter queue",
        "s3:GetObject": "reads an execution's fields that were spilled to S3 (over 64 KB)",
        "s3:PutObject": "a slot's execution whose snapshot or variables pass 64 KB goes to S3",
        "states:StartExecution": "starts a slot an earlier, crashed tick had written (recovery); "
        "fresh slots go through the start queue",
        "dynamodb:DeleteItem": "the sweep expires queued executions and promotes them (queue entries)",
        "states:SendTaskSuccess": "the sweep expires or promotes a run queued at its slot and answers the "
        "token its workflow waits on (WaitForTurn; tests/unit/schedules/test_turn_token.py)",
    },
}


@pytest.fixture
def http(local_cloud: Any) -> Iterator[httpx.Client]:
    with api_client(local_cloud, "iam-flows") as client:
        yield client


def _role_name(local_cloud: Any, logical_id: str) -> str:
    return str(local_cloud.stack.resources[f"{logical_id}Role"])


def _workflow_failed(local_cloud: Any, execution_id: str) -> None:
    """What AWS puts on the default bus when a workflow fails: the reconciler's rule matches it."""
    event = json.loads((EVENTS_DIR / "sfn_execution_status_change.json").read_text())
    machine = local_cloud.stack.outputs["StateMachineArn"]
    arn = machine.replace(":stateMachine:", ":execution:") + f":{execution_id}"
    event["detail"].update(executionArn=arn, stateMachineArn=machine, name=execution_id, status="FAILED")
    boto3.client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Resources": [arn],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )


def test_a_grant_taken_away_fails_as_access_denied(local_cloud: Any, http: httpx.Client) -> None:
    # Given the API function's role without states:StartExecution
    iam = boto3.client("iam")
    role = _role_name(local_cloud, "ApiFunction")
    policy = iam.list_role_policies(RoleName=role)["PolicyNames"][0]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    kept = [s for s in document["Statement"] if "states:StartExecution" not in s["Action"]]
    iam.put_role_policy(
        RoleName=role, PolicyName=policy, PolicyDocument=json.dumps({**document, "Statement": kept})
    )
    try:
        # When a user executes a task
        task = stored_task("iam-flows")
        response = http.post(
            f"/api/v1/tasks/{task.id}/execute", json={"variables": {"topic": "a", "audience": "b"}}
        )
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=json.dumps(document))
    # Then the call the template no longer allows is refused, as AWS would refuse it
    assert response.json()["status"] == "failed", response.text
    assert response.json()["error_message"] == "the workflow could not be started (403)"
    denied = [(who, action) for who, action, _ in local_cloud.ledger.denied]
    assert ("ApiFunction", "states:StartExecution") in denied


def test_every_flow_passes_with_the_templates_policies_and_uses_every_grant(
    local_cloud: Any, http: httpx.Client, claim_when_due: None
) -> None:
    local_cloud.ledger.reset()
    # Given a user's SNS topic for the task's notifications
    topic_arn = boto3.client("sns").create_topic(Name="iam-flows-results")["TopicArn"]
    # And a secret, and a task created through the API that uses it and asks for a report
    assert http.put("/api/v1/secrets/IAM_FLOW_TOKEN", json={"value": "s3cr3t"}).status_code in (200, 201)
    created = http.post(
        "/api/v1/tasks",
        json={
            "secrets": ["IAM_FLOW_TOKEN"],
            "name": "IAM flows",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "generate_report": True,
            "report_format": "markdown",
            "is_scheduled": True,
            "schedule_cron": "* * * * *",
            "notification_config": {"sns_topic_arn": topic_arn, "on": ["completed"]},
        },
    )
    assert created.status_code == 201, created.text
    task = created.json()
    # When it is executed, and its report read through the presigned URL
    started = http.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}})
    assert started.status_code == 202, started.text
    done = finished(http, started.json()["id"])
    assert done["status"] == "completed", done
    # And the notifier publishes its end to the topic and records the delivery
    deliveries = wait_until(
        lambda: http.get(f"/api/v1/task-executions/{done['id']}/deliveries").json()["items"],
        what="the notifier's delivery record",
    )
    assert [(d["destination"], d["status"]) for d in deliveries] == [("sns", "delivered")]
    report = http.get(done["_links"]["report"]).json()
    assert httpx.get(report["download_url"]).status_code == 200
    assert http.get(done["_links"]["messages"]).status_code == 200
    # And the user's tasks are listed through a filter (its index items, then the tasks by key)
    listed = http.get("/api/v1/tasks", params={"is_scheduled": "true"})
    assert [t["id"] for t in listed.json()["items"]] == [task["id"]], listed.text
    # And the scheduler's tick claims its slot, and the starter starts it from the start queue
    summary = local_cloud.rules.fire("SchedulerFunctionTick", at=datetime.fromisoformat(task["next_run_at"]))
    assert summary["dispatched"] >= 1, summary
    assert local_cloud.queues.drain("StarterFunction") >= 1
    # And a past slot is backfilled through the API and started by the starter
    past = (datetime.fromisoformat(task["next_run_at"]) - timedelta(minutes=2)).isoformat()
    backfill = http.post(f"/api/v1/tasks/{task['id']}/backfill", json={"from": past, "to": past})
    assert backfill.status_code == 202, backfill.text
    assert len(backfill.json()["execution_ids"]) == 1
    assert local_cloud.queues.drain("StarterFunction") == 1
    # And a run is cancelled
    again = http.post(f"/api/v1/tasks/{task['id']}/execute", json={"variables": {}}).json()
    cancelled = http.post(f"/api/v1/task-executions/{again['id']}/cancel")
    assert cancelled.status_code in (200, 409), cancelled.text
    # And a run asked for while the only run slot of a task limited to one run is held is queued; the
    # holder's cancel through the API frees the slot and promotes it, and the starter starts it
    limited = stored_task("iam-flows", max_concurrent_runs=1)
    holder = pending_execution(limited)
    execution_store.update(holder, {"run_slots": ["task"]})
    boto3.client("dynamodb").update_item(
        TableName=local_cloud.stack.outputs["TableName"],
        Key=slot_key(("task", limited.id)),
        UpdateExpression="ADD holders :id",
        ExpressionAttributeValues={":id": {"SS": [holder]}},
    )
    queued = http.post(f"/api/v1/tasks/{limited.id}/execute", json={"variables": {}}).json()
    assert queued["status"] == "queued", queued
    assert http.post(f"/api/v1/task-executions/{holder}/cancel").status_code == 200
    assert execution_store.get(queued["id"]).status == "pending"  # type: ignore[union-attr]
    assert local_cloud.queues.drain("StarterFunction") == 1
    assert finished(http, queued["id"])["status"] == "completed"
    # And a workflow that failed is reconciled through its EventBridge rule
    pending = pending_execution(stored_task("iam-flows"))
    _workflow_failed(local_cloud, pending)
    wait_until(
        lambda: getattr(execution_store.get(pending), "status", None) == "failed", what="the reconciler"
    )
    # And a run whose write_file waits for a person is approved (SendTaskSuccess), and another is
    # cancelled while it waits (SendTaskFailure releases the wait)
    gated = http.post(
        "/api/v1/tasks",
        json={
            "name": "IAM approvals",
            "prompt_template": "Write a short status note.",
            "allowed_tools": ["read_file", "write_file", "list_files"],
            "sdk_options": {"max_turns": 10},
            "approval": {"tools": ["write_file"]},
        },
    ).json()
    approved = http.post(f"/api/v1/tasks/{gated['id']}/execute", json={"variables": {}}).json()["id"]
    request = waiting_request(http, approved)
    answer = http.post(
        f"/api/v1/task-executions/{approved}/approvals/{request['id']}", json={"decision": "approve"}
    )
    assert answer.status_code == 200, answer.text
    assert finished_run(http, approved)["status"] == "completed"
    waits = http.post(f"/api/v1/tasks/{gated['id']}/execute", json={"variables": {}}).json()["id"]
    waiting_request(http, waits)
    assert http.post(f"/api/v1/task-executions/{waits}/cancel").status_code == 200
    assert http.delete(f"/api/v1/tasks/{gated['id']}").status_code == 204
    # And under overlap_policy cancel_other a due slot cancels the run in progress (the starter stops
    # its workflow, releases its wait and removes its workspace) and starts
    superseding = cancel_other_flow(local_cloud, http, name="IAM cancel other")
    assert execution_store.get(superseding.first).status == "cancelled"  # type: ignore[union-attr]
    end_flow(http, superseding)
    # And the task is deleted (its name lock goes with it)
    assert http.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    wait_until(
        lambda: (
            not [
                e
                for e in http.get(f"/api/v1/tasks/{task['id']}/executions").json()["items"]
                if e["status"] not in TERMINAL
            ]
        ),
        what="every run of the task to end",
    )

    # Then nothing was denied, and every grant of every function was used or is justified
    assert local_cloud.ledger.denied == []
    unjustified = {}
    for logical_id in [f.logical_id for f in local_cloud.stack.functions] + ["ExecutionStateMachine"]:
        granted = granted_actions(local_cloud.stack.transformed, f"{logical_id}Role")
        left = (
            granted - local_cloud.ledger.used_actions(logical_id) - set(JUSTIFIED_UNUSED.get(logical_id, {}))
        )
        if left:
            unjustified[logical_id] = sorted(left)
    assert unjustified == {}, "granted, used by no flow, and not justified in JUSTIFIED_UNUSED"
    # And every justification is for a grant the template still makes
    for logical_id, reasons in JUSTIFIED_UNUSED.items():
        assert set(reasons) <= granted_actions(local_cloud.stack.transformed, f"{logical_id}Role"), logical_id
