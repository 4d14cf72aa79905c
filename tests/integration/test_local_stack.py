"""The local stack is created from template.yaml itself, and its functions run through Lambda."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.support.template import template


def test_the_table_and_its_indexes_are_the_templates(local_cloud: Any) -> None:
    # Given the template's table definition
    expected = template()["Resources"]["Table"]["Properties"]
    # When we describe the table moto created from the deployed stack
    table = boto3.client("dynamodb").describe_table(TableName=local_cloud.stack.outputs["TableName"])["Table"]
    # Then keys and indexes are the template's
    assert table["KeySchema"] == expected["KeySchema"]
    indexes = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    assert indexes == {i["IndexName"]: i["KeySchema"] for i in expected["GlobalSecondaryIndexes"]}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_the_bucket_is_encrypted_and_private(local_cloud: Any) -> None:
    s3 = boto3.client("s3")
    bucket = local_cloud.stack.outputs["BucketName"]
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert any(
        rule.get("Filter", {}).get("Prefix", rule.get("Prefix")) == "workspaces/" for rule in lifecycle
    )


def test_the_state_machine_has_its_substitutions_applied(local_cloud: Any) -> None:
    arn = local_cloud.stack.outputs["StateMachineArn"]
    definition = json.loads(
        boto3.client("stepfunctions").describe_state_machine(stateMachineArn=arn)["definition"]
    )
    executor = local_cloud.host.by_logical_id("ExecutorFunction").physical_name
    # The executor is invoked through its `live` alias (what SnapStart needs), which the local
    # deploy creates since moto's CloudFormation does not
    assert definition["States"]["Prepare"]["Resource"].endswith(f":function:{executor}:live")
    assert boto3.client("lambda").get_alias(FunctionName=executor, Name="live")["Name"] == "live"
    assert "${" not in json.dumps(definition)


def test_every_function_of_the_template_is_deployed_with_its_handler(local_cloud: Any) -> None:
    functions = {k for k, v in template()["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}
    assert {f.logical_id for f in local_cloud.stack.functions} == functions
    assert all(f.handler == "app.lambda_handler" for f in local_cloud.stack.functions)


def test_the_api_function_answers_through_lambda(local_cloud: Any) -> None:
    # Given a payload-2.0 event with verified claims
    from tests.support.events import http_api_event

    event = http_api_event("GET", "/api/v1/health", user="carol")
    # When it is invoked through moto's Lambda API
    result = boto3.client("lambda").invoke(
        FunctionName=local_cloud.stack.resources["ApiFunction"], Payload=json.dumps(event).encode()
    )
    payload = json.loads(result["Payload"].read())
    # Then our handler ran in-process and answered
    assert "FunctionError" not in result
    assert payload["statusCode"] == 200
    assert json.loads(payload["body"])["user_id"] == "carol"
