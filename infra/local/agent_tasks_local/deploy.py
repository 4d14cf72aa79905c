"""Deploy the real template.yaml into moto, as `sam package` + `sam deploy` would into AWS.

Code directories are zipped into an artifacts bucket, the SAM transform runs locally
(aws-sam-translator), and the resulting CloudFormation template is created as a stack.
Where moto ignores a property the template relies on (`DefinitionSubstitutions`), or a whole
resource type (alarms, asynchronous-invocation configs: see `completion`), this step does that
part itself.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from agent_tasks_local.completion import (
    StackContext,
    UnresolvableIntrinsic,
    create_alarms,
    create_event_invoke_configs,
)
from agent_tasks_local.lambdas import LocalFunction

ARTIFACTS_BUCKET = "agent-tasks-local-artifacts"
_SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


class _NoManagedPolicyLookups(ManagedPolicyLoader):
    """The template names managed policies by ARN only, so no IAM lookup is needed."""

    def __init__(self) -> None:
        super().__init__(iam_client=None)  # type: ignore[arg-type]

    def load(self) -> dict[str, str]:
        return {}


@dataclass
class DeployedStack:
    name: str
    outputs: dict[str, str]
    resources: dict[str, str]  # logical id -> physical id
    resource_types: dict[str, str]  # logical id -> type, as transformed
    functions: list[LocalFunction]
    schedules: list[ScheduledRule]
    transformed: dict[str, Any] = field(repr=False)
    skipped_types: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduledRule:
    logical_id: str
    expression: str
    target_function: str  # logical id of the function


def load_template(path: Path) -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return template


def _zip_directory(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(directory.rglob("*")):
            if file.is_file() and not _SKIPPED_DIRS.intersection(file.parts):
                archive.write(file, file.relative_to(directory))
    return buffer.getvalue()


def _package(template: dict[str, Any], root: Path, s3: Any) -> dict[str, Path]:
    """Upload local code and inline local definitions; returns function logical id -> code dir."""
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    code_dirs: dict[str, Path] = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Serverless::Function":
            code_dir = (root / properties["CodeUri"]).resolve()
            key = f"{logical_id}.zip"
            s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=key, Body=_zip_directory(code_dir))
            properties["CodeUri"] = {"Bucket": ARTIFACTS_BUCKET, "Key": key}
            code_dirs[logical_id] = code_dir
        elif kind == "AWS::Serverless::LayerVersion":
            key = f"{logical_id}.zip"
            s3.put_object(
                Bucket=ARTIFACTS_BUCKET, Key=key, Body=_zip_directory(root / properties["ContentUri"])
            )
            properties["ContentUri"] = {"Bucket": ARTIFACTS_BUCKET, "Key": key}
        elif kind == "AWS::Serverless::StateMachine" and "DefinitionUri" in properties:
            definition_path = root / properties.pop("DefinitionUri")
            properties["Definition"] = json.loads(definition_path.read_text(encoding="utf-8"))
    return code_dirs


def _apply_definition_substitutions(transformed: dict[str, Any]) -> None:
    """moto ignores DefinitionSubstitutions; fold them into the definition with Fn::Sub."""
    for resource in transformed["Resources"].values():
        if resource["Type"] != "AWS::StepFunctions::StateMachine":
            continue
        properties = resource["Properties"]
        substitutions = properties.pop("DefinitionSubstitutions", None)
        if not substitutions:
            continue
        definition = properties["DefinitionString"]
        if isinstance(definition, dict) and "Fn::Join" in definition:
            separator, parts = definition["Fn::Join"]
            definition = separator.join(parts)
        properties["DefinitionString"] = {
            "Fn::Sub": [_sub_escaped(definition, len(substitutions)), substitutions]
        }


def _sub_escaped(definition: str, mappings: int) -> str:
    """The definition escaped for moto's Fn::Sub, which runs `string.Template.safe_substitute` once per
    mapping, each pass turning `$$` into `$` (CloudFormation leaves `$$` alone). A context-object path
    such as `$$.Task.Token` (a `.waitForTaskToken` state's token) must reach the interpreter as written:
    double each `$$` once per pass. tests/unit/local/test_definition_substitutions.py guards it."""
    return definition.replace("$$", "$" * (2 ** (mappings + 1)))


@dataclass(frozen=True)
class LocalAlias:
    function: str  # logical id of the function
    name: str


def _take_aliases(transformed: dict[str, Any]) -> list[LocalAlias]:
    """moto's CloudFormation makes no AWS::Lambda::Alias: take them out of the template, point every
    Ref to one at `<function arn>:<alias>`, and let `_create_aliases` make them through the API."""
    aliases: dict[str, LocalAlias] = {}
    for logical_id, resource in list(transformed["Resources"].items()):
        if resource["Type"] == "AWS::Lambda::Alias":
            function = resource["Properties"]["FunctionName"]["Ref"]
            aliases[logical_id] = LocalAlias(function, resource["Properties"]["Name"])
            del transformed["Resources"][logical_id]

    def replaced(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in aliases:
                alias = aliases[node["Ref"]]
                return {"Fn::Join": [":", [{"Fn::GetAtt": [alias.function, "Arn"]}, alias.name]]}
            return {key: replaced(value) for key, value in node.items()}
        if isinstance(node, list):
            return [replaced(value) for value in node]
        return node

    transformed["Resources"] = replaced(transformed["Resources"])
    transformed["Outputs"] = replaced(transformed.get("Outputs", {}))
    return list(aliases.values())


def _create_aliases(aliases: list[LocalAlias], resources: dict[str, str], region: str) -> None:
    lambda_client = boto3.client("lambda", region_name=region)
    for alias in aliases:
        lambda_client.create_alias(
            FunctionName=resources[alias.function], Name=alias.name, FunctionVersion="$LATEST"
        )


def _kms_tags_as_moto_reads_them(transformed: dict[str, Any]) -> dict[str, Any]:
    """moto's CloudFormation passes a KMS key's Tags to KMS unchanged, which wants TagKey/TagValue
    rather than CloudFormation's Key/Value: hand it a copy in the form it reads."""
    copied: dict[str, Any] = json.loads(json.dumps(transformed))
    for resource in copied["Resources"].values():
        tags = resource.get("Properties", {}).get("Tags") if resource["Type"] == "AWS::KMS::Key" else None
        if tags:
            resource["Properties"]["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]
    return copied


def _scheduled_rules(transformed: dict[str, Any]) -> list[ScheduledRule]:
    rules = []
    for logical_id, resource in transformed["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::Events::Rule" or "ScheduleExpression" not in properties:
            continue
        for target in properties.get("Targets", []):
            arn = target.get("Arn", {})
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                rules.append(
                    ScheduledRule(logical_id, properties["ScheduleExpression"], arn["Fn::GetAtt"][0])
                )
    return rules


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation lifecycle rule in the S3 API's shape."""
    api_rule: dict[str, Any] = {
        "ID": rule["Id"],
        "Status": rule["Status"],
        "Filter": {"Prefix": rule.get("Prefix", "")},
    }
    tags = rule.get("TagFilters") or []
    if tags:
        tag_filter = [{"Key": t["Key"], "Value": t["Value"]} for t in tags]
        if rule.get("Prefix") or len(tag_filter) > 1:
            api_rule["Filter"] = {"And": {"Prefix": rule.get("Prefix", ""), "Tags": tag_filter}}
        else:
            api_rule["Filter"] = {"Tag": tag_filter[0]}
    if "ExpirationInDays" in rule:
        api_rule["Expiration"] = {"Days": rule["ExpirationInDays"]}
    if "Transitions" in rule:
        api_rule["Transitions"] = [
            {"Days": t["TransitionInDays"], "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
        ]
    if "AbortIncompleteMultipartUpload" in rule:
        api_rule["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
    return api_rule


def _complete_buckets(transformed: dict[str, Any], resources: dict[str, str], s3: Any) -> None:
    """moto's CloudFormation drops a bucket's public access block and lifecycle; apply them here."""
    for logical_id, resource in transformed["Resources"].items():
        if resource["Type"] != "AWS::S3::Bucket" or logical_id not in resources:
            continue
        bucket = resources[logical_id]
        properties = resource.get("Properties", {})
        if "PublicAccessBlockConfiguration" in properties:
            s3.put_public_access_block(
                Bucket=bucket, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
            )
        if "LifecycleConfiguration" in properties:
            rules = [_lifecycle_rule(rule) for rule in properties["LifecycleConfiguration"]["Rules"]]
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})


def _attribute(region: str) -> Any:
    """`Fn::GetAtt` for the types the completed resources refer to, read from moto's APIs."""

    def attribute(kind: str, physical_id: str, name: str) -> str:
        if kind == "AWS::SQS::Queue" and name == "QueueName":
            return physical_id.rstrip("/").rsplit("/", 1)[-1]
        if kind == "AWS::SQS::Queue" and name == "Arn":
            attributes = boto3.client("sqs", region_name=region).get_queue_attributes(
                QueueUrl=physical_id, AttributeNames=["QueueArn"]
            )
            return str(attributes["Attributes"]["QueueArn"])
        if kind == "AWS::SNS::Topic" and name in ("TopicArn", "TopicName"):
            return physical_id if name == "TopicArn" else physical_id.rsplit(":", 1)[-1]
        if kind == "AWS::Lambda::Function" and name == "Arn":
            configuration = boto3.client("lambda", region_name=region).get_function_configuration(
                FunctionName=physical_id
            )
            return str(configuration["FunctionArn"])
        if kind == "AWS::StepFunctions::StateMachine" and name in ("Arn", "Name"):
            return physical_id if name == "Arn" else physical_id.rsplit(":", 1)[-1]
        raise UnresolvableIntrinsic(f"GetAtt {name} of a {kind} is not resolved locally")

    return attribute


def _complete_skipped_types(
    transformed: dict[str, Any], resources: dict[str, str], parameter_values: dict[str, Any], region: str
) -> None:
    """Create what moto's CloudFormation skips (alarms, async invoke configs); adds alarms to `resources`."""
    parameters = {
        name: definition.get("Default", "") for name, definition in transformed.get("Parameters", {}).items()
    }
    context = StackContext(
        parameters={**parameters, **parameter_values},
        physical_ids=resources,
        types={k: v["Type"] for k, v in transformed["Resources"].items()},
        conditions=transformed.get("Conditions", {}),
        attribute=_attribute(region),
    )
    resources.update(create_alarms(transformed, context, boto3.client("cloudwatch", region_name=region)))
    create_event_invoke_configs(transformed, context, boto3.client("lambda", region_name=region))


def deploy(
    template_path: Path,
    *,
    stack_name: str,
    region: str,
    account: str,
    parameters: dict[str, str] | None = None,
) -> DeployedStack:
    """Transform and create the stack in the moto server boto3 is pointed at (AWS_ENDPOINT_URL)."""
    root = template_path.parent
    template = load_template(template_path)
    s3 = boto3.client("s3", region_name=region)
    code_dirs = _package(template, root, s3)
    parameter_values: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        **(parameters or {}),
    }
    transformed = transform(template, parameter_values, _NoManagedPolicyLookups())
    _apply_definition_substitutions(transformed)
    aliases = _take_aliases(transformed)

    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(
        StackName=stack_name,
        TemplateBody=json.dumps(_kms_tags_as_moto_reads_them(transformed)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(
            f"local stack {stack_name} is {stack['StackStatus']}: {stack.get('StackStatusReason')}"
        )
    outputs = {o["OutputKey"]: o.get("OutputValue", "") for o in stack.get("Outputs", [])}
    summaries = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries if r["LogicalResourceId"]}
    # moto skips the types it does not implement (Cognito, API Gateway v2, bucket policies, ...).
    skipped = sorted({v["Type"] for k, v in transformed["Resources"].items() if k not in resources})

    _create_aliases(aliases, resources, region)
    _complete_buckets(transformed, resources, s3)
    _complete_skipped_types(transformed, resources, parameter_values, region)

    lambda_client = boto3.client("lambda", region_name=region)
    functions = []
    for logical_id, code_dir in code_dirs.items():
        physical_name = resources[logical_id]
        configuration = lambda_client.get_function_configuration(FunctionName=physical_name)
        functions.append(
            LocalFunction(
                logical_id=logical_id,
                physical_name=physical_name,
                code_dir=code_dir,
                handler=configuration["Handler"],
                timeout_seconds=configuration.get("Timeout", 3),
                memory_mb=configuration.get("MemorySize", 128),
                environment=configuration.get("Environment", {}).get("Variables", {}),
            )
        )
    return DeployedStack(
        name=stack_name,
        outputs=outputs,
        resources=resources,
        resource_types={k: v["Type"] for k, v in transformed["Resources"].items()},
        functions=functions,
        schedules=_scheduled_rules(transformed),
        transformed=transformed,
        skipped_types=skipped,
    )
