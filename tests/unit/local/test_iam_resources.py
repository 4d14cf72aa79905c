"""What the strict local cloud asks IAM for each request: the action and the resource ARN, as AWS does."""

from __future__ import annotations

from agent_tasks_local.iam import Ledger, granted_actions, resource_arns

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/t"


def checks(
    service: str, action: str, parameters: dict[str, object], path: str = "/"
) -> list[tuple[str, str]]:
    return resource_arns(service, action, parameters, path, "us-east-1", "123456789012")


def test_a_query_on_an_index_is_checked_on_the_index() -> None:
    assert checks("dynamodb", "Query", {"TableName": "t", "IndexName": "GSI1"}) == [
        ("Query", f"{TABLE}/index/GSI1")
    ]


def test_a_transaction_is_checked_as_the_actions_it_is_made_of() -> None:
    # Given a transaction that puts, updates, deletes and checks (IAM has no TransactWriteItems action)
    items = [{"Put": {"TableName": "t"}}, {"Update": {"TableName": "t"}}, {"Delete": {"TableName": "t"}}]
    items.append({"ConditionCheck": {"TableName": "t"}})
    # Then each part is checked as its own action on the table
    assert checks("dynamodb", "TransactWriteItems", {"TransactItems": items}) == [
        ("PutItem", TABLE),
        ("UpdateItem", TABLE),
        ("DeleteItem", TABLE),
        ("ConditionCheckItem", TABLE),
    ]


def test_an_invoke_by_arn_or_alias_is_checked_on_the_function() -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    assert checks("lambda", "InvokeFunction", {}, "/2015-03-31/functions/f/invocations") == [
        ("InvokeFunction", arn)
    ]
    quoted = "/2015-03-31/functions/" + arn.replace(":", "%3A") + "%3Alive/invocations"
    assert checks("lambda", "InvokeFunction", {}, quoted) == [("InvokeFunction", f"{arn}:live")]


def test_events_are_checked_on_their_bus_and_executions_on_their_arn() -> None:
    bus = "arn:aws:events:us-east-1:123456789012:event-bus/"
    entries = {"Entries": [{"EventBusName": "b"}, {}]}
    assert checks("events", "PutEvents", entries) == [
        ("PutEvents", f"{bus}b"),
        ("PutEvents", f"{bus}default"),
    ]
    execution = "arn:aws:states:us-east-1:123456789012:execution:m:e"
    assert checks("states", "StopExecution", {"executionArn": execution}) == [("StopExecution", execution)]


def test_a_publish_is_checked_on_its_topic_and_a_send_on_its_queue() -> None:
    topic = "arn:aws:sns:eu-west-1:210987654321:their-topic"
    assert checks("sns", "Publish", {"TopicArn": topic}) == [("Publish", topic)]
    url = "http://127.0.0.1:5000/123456789012/agent-tasks-notifier-dlq-local"
    assert checks("sqs", "SendMessage", {"QueueUrl": url}) == [
        ("SendMessage", "arn:aws:sqs:us-east-1:123456789012:agent-tasks-notifier-dlq-local")
    ]


def test_an_action_without_a_resource_is_checked_on_star() -> None:
    assert checks("monitoring", "PutMetricData", {}) == [("PutMetricData", "*")]


def test_the_ledger_names_a_role_by_its_function() -> None:
    ledger = Ledger(role_of={"stack-ApiFunctionRole-X": "ApiFunction"})
    ledger.record(
        "arn:aws:sts::123456789012:assumed-role/stack-ApiFunctionRole-X/s", "s3:GetObject", "a", True
    )
    ledger.record("arn:aws:iam::123456789012:user/local-cloud-admin", "s3:PutObject", "a", True)
    assert ledger.used_actions("ApiFunction") == {"s3:GetObject"}
    assert ledger.used_actions("local-cloud-admin") == {"s3:PutObject"}


def test_granted_actions_are_read_from_the_roles_inline_policies() -> None:
    statement = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
    denial = {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"}
    role = {
        "Properties": {
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [statement, denial]}}]
        }
    }
    assert granted_actions({"Resources": {"R": role}}, "R") == {"s3:GetObject"}
