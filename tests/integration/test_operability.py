"""What an operator gets from the deployed template: the dashboard, the alarms and their topic, the
scheduler's dead-letter queue, tags on every resource that takes them; and cfn-lint stays clean.

The local cloud deploys template.yaml itself (moto's CloudFormation, with alarms and the scheduler's
asynchronous-invocation config completed through moto's APIs), so these are the template's resources.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.template import TEMPLATE_PATH

ENVIRONMENT = "local"  # the local cloud deploys with Environment=local
SERVICE = f"agent-tasks-{ENVIRONMENT}"
FUNCTIONS = {
    "api": "ApiFunction",
    "executor": "ExecutorFunction",
    "reporter": "ReporterFunction",
    "scheduler": "SchedulerFunction",
    "starter": "StarterFunction",
    "reconciler": "ReconcilerFunction",
}
EXECUTION_METRICS = [
    "ExecutionsStarted",
    "ExecutionsCompleted",
    "ExecutionsFailed",
    "ExecutionsCancelled",
    "ExecutionsTimedOut",
    "ModelInputTokens",
    "ModelOutputTokens",
    "ModelCostUsd",
    "ToolCalls",
    "PermissionDenials",
    "SchedulerDue",
    "SchedulerStarted",
    "SchedulerSkipped",
    "Api4xx",
    "Api5xx",
]


def _alarm(name: str) -> dict[str, Any]:
    alarms = boto3.client("cloudwatch").describe_alarms(AlarmNames=[f"agent-tasks-{ENVIRONMENT}-{name}"])
    assert alarms["MetricAlarms"], f"no alarm named agent-tasks-{ENVIRONMENT}-{name}"
    alarm: dict[str, Any] = alarms["MetricAlarms"][0]
    return alarm


def _physical(local_cloud: Any, logical_id: str) -> str:
    physical: str = local_cloud.stack.resources[logical_id]
    return physical


def _topic_arn(local_cloud: Any) -> str:
    return _physical(local_cloud, "AlarmTopic")


def _dashboard_metrics(local_cloud: Any) -> list[list[Any]]:
    body = boto3.client("cloudwatch").get_dashboard(DashboardName=f"agent-tasks-{ENVIRONMENT}")[
        "DashboardBody"
    ]
    widgets = json.loads(body)["widgets"]
    rows: list[list[Any]] = []
    for widget in widgets:
        previous: list[Any] = []
        for row in widget["properties"].get("metrics", []):
            # "." repeats the value of the row above, as the console reads it.
            row = [
                previous[i] if value == "." and i < len(previous) else value for i, value in enumerate(row)
            ]
            rows.append(row)
            previous = row
    return rows


def test_the_dashboard_shows_the_execution_metrics_the_workflow_and_every_function(local_cloud: Any) -> None:
    # Given the dashboard the template deployed
    rows = _dashboard_metrics(local_cloud)
    own = {row[1] for row in rows if row[0] == "AgentTasks" and row[2:4] == ["service", SERVICE]}
    # Then it charts every metric the service emits, under this stack's service dimension
    assert set(EXECUTION_METRICS) <= own
    # And the state machine's runs
    machine = local_cloud.stack.outputs["StateMachineArn"]
    states = {row[1] for row in rows if row[0] == "AWS/States" and row[3] == machine}
    assert {"ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut"} <= states
    # And each function's errors and duration
    for logical_id in FUNCTIONS.values():
        name = _physical(local_cloud, logical_id)
        charted = {row[1] for row in rows if row[0] == "AWS/Lambda" and row[3] == name}
        assert {"Errors", "Throttles", "Duration"} <= charted, logical_id
    # And the trigger type breakdown searches the TriggerType dimension set
    expressions = [row[0]["expression"] for row in rows if isinstance(row[0], dict)]
    assert any("TriggerType" in e and "ExecutionsStarted" in e for e in expressions)


@pytest.mark.parametrize(
    ("name", "namespace", "metric", "comparison", "threshold"),
    [
        ("workflow-failed", "AWS/States", "ExecutionsFailed", "GreaterThanOrEqualToThreshold", 1),
        ("scheduler-not-running", "AWS/Lambda", "Invocations", "LessThanThreshold", 1),
        ("starts-dlq-not-empty", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "GreaterThanThreshold", 0),
        (
            "notifier-dlq-not-empty",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "GreaterThanThreshold",
            0,
        ),
        (
            "scheduler-dlq-not-empty",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "GreaterThanThreshold",
            0,
        ),
        *[
            (f"{short}-{kind.lower()}", "AWS/Lambda", kind, "GreaterThanOrEqualToThreshold", 1)
            for short in FUNCTIONS
            for kind in ("Errors", "Throttles")
        ],
    ],
)
def test_each_alarm_watches_its_metric_and_notifies_the_topic(
    local_cloud: Any, name: str, namespace: str, metric: str, comparison: str, threshold: float
) -> None:
    alarm = _alarm(name)
    assert (alarm["Namespace"], alarm["MetricName"]) == (namespace, metric)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (comparison, threshold)
    assert alarm["AlarmActions"] == [_topic_arn(local_cloud)]
    assert alarm["OKActions"] == [_topic_arn(local_cloud)]


def test_the_alarms_name_what_they_watch(local_cloud: Any) -> None:
    dimensions = {
        name: {d["Name"]: d["Value"] for d in _alarm(name)["Dimensions"]}
        for name in ("workflow-failed", "scheduler-not-running", "scheduler-dlq-not-empty", "executor-errors")
    }
    assert dimensions["workflow-failed"] == {"StateMachineArn": local_cloud.stack.outputs["StateMachineArn"]}
    assert dimensions["scheduler-not-running"] == {
        "FunctionName": _physical(local_cloud, "SchedulerFunction")
    }
    assert dimensions["scheduler-dlq-not-empty"] == {"QueueName": f"agent-tasks-scheduler-dlq-{ENVIRONMENT}"}
    assert dimensions["executor-errors"] == {"FunctionName": _physical(local_cloud, "ExecutorFunction")}
    # A scheduler that stopped sends no data at all: missing data must count as breaching
    assert _alarm("scheduler-not-running")["TreatMissingData"] == "breaching"
    assert _alarm("scheduler-not-running")["Period"] == 300


def test_the_failed_rate_alarm_divides_failed_by_started_over_15_minutes_with_a_minimum(
    local_cloud: Any,
) -> None:
    alarm = _alarm("executions-failed-rate")
    queries = {q["Id"]: q for q in alarm["Metrics"]}
    assert queries["failed"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsFailed"
    assert queries["started"]["MetricStat"]["Metric"]["MetricName"] == "ExecutionsStarted"
    for metric in ("failed", "started"):
        stat = queries[metric]["MetricStat"]
        assert (stat["Period"], stat["Stat"]) == (900, "Sum")
        assert stat["Metric"]["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
    returned = [q for q in alarm["Metrics"] if q.get("ReturnData", True)]
    assert len(returned) == 1
    assert "100 * FILL(failed, 0) / started" in returned[0]["Expression"]
    assert "FILL(started, 0) >= 5" in returned[0]["Expression"]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 20)


def test_the_table_throttles_alarm_watches_the_table(local_cloud: Any) -> None:
    alarm = _alarm("table-throttles")
    watched = {
        (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Metric"]["Dimensions"][0]["Value"])
        for q in alarm["Metrics"]
        if "MetricStat" in q
    }
    table = local_cloud.stack.outputs["TableName"]
    assert watched == {("ReadThrottleEvents", table), ("WriteThrottleEvents", table)}


def test_the_alarm_topic_is_encrypted_with_the_aws_managed_key(local_cloud: Any) -> None:
    attributes = boto3.client("sns").get_topic_attributes(TopicArn=_topic_arn(local_cloud))["Attributes"]
    assert attributes["KmsMasterKeyId"] == "alias/aws/sns"
    assert local_cloud.stack.outputs["AlarmTopicArn"] == _topic_arn(local_cloud)


def test_failed_scheduler_ticks_land_in_an_encrypted_dead_letter_queue(local_cloud: Any) -> None:
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"agent-tasks-scheduler-dlq-{ENVIRONMENT}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    config = boto3.client("lambda").get_function_event_invoke_config(
        FunctionName=_physical(local_cloud, "SchedulerFunction")
    )
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == attributes["QueueArn"]


def test_notifications_that_kept_failing_land_in_an_encrypted_dead_letter_queue(local_cloud: Any) -> None:
    # Given the notifier's dead-letter queue and asynchronous-invocation settings
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=f"agent-tasks-notifier-dlq-{ENVIRONMENT}")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    config = boto3.client("lambda").get_function_event_invoke_config(
        FunctionName=_physical(local_cloud, "NotifierFunction")
    )
    # Then a failed delivery is retried twice, then goes to the encrypted queue (alarmed on)
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == attributes["QueueArn"]


def test_the_functions_name_their_stack_in_metrics_and_leave_console_links_off_locally(
    local_cloud: Any,
) -> None:
    for logical_id in FUNCTIONS.values():
        environment = local_cloud.host.by_logical_id(logical_id).environment
        assert environment["POWERTOOLS_SERVICE_NAME"] == SERVICE
        assert environment["CONSOLE_LINKS"] == "false"


# SAM makes these without the function's tags (SAM's PropagateTags does not reach event rules), and
# gives the HTTP API its tags inside its OpenAPI body (x-amazon-apigateway-tag-value).
UNTAGGED_BY_SAM = {
    "SchedulerFunctionTick",
    "ReconcilerFunctionWorkflowEnded",
    "NotifierFunctionNotifications",
    "StarterFunctionStarts",
    "HttpApi",
}


def test_every_resource_that_takes_tags_has_service_and_environment(local_cloud: Any) -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    untagged = []
    for logical_id, resource in local_cloud.stack.transformed["Resources"].items():
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource["Type"]).schema
        tag_property = schema.get("tagging", {}).get("tagProperty", "").removeprefix("/properties/")
        if not schema.get("tagging", {}).get("taggable") or not tag_property or logical_id in UNTAGGED_BY_SAM:
            continue
        tags = resource.get("Properties", {}).get(tag_property) or {}
        keys = {t["Key"] for t in tags} if isinstance(tags, list) else set(tags)
        if not {"service", "environment"} <= keys:
            untagged.append(f"{logical_id} ({resource['Type']})")
    assert untagged == []


def test_cfn_lint_finds_nothing_in_the_template() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE_PATH)
    assert [str(m) for m in matches] == []
