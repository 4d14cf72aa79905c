"""IAM in the local cloud, as AWS enforces it: each function calls AWS with its own role.

Once the stack is deployed, an administrator user stands for the harness (the deploy, the API
front, EventBridge, tests), and each function's role from the deployed template is assumed
through STS, as Lambda does; an invocation's AWS calls are signed with its function's session
(`PerFunctionCredentials`, chosen per request from the invocation's context), and the server
checks each request against the signer's policies for the resource it acts on
(`moto_bridge.enforce_iam` with `resource_arns` below). A missing action or resource fails as
`AccessDenied`, locally, before a deploy. Every decision is recorded (`Ledger`), so a test can
list the grants no flow used.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3
from botocore.credentials import Credentials, ReadOnlyCredentials

from agent_tasks_local import moto_bridge

ADMIN_USER = "local-cloud-admin"
_ADMIN_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


class Session:
    """One invocation's credentials; revoked when Lambda would have stopped the function (its
    Timeout), so a handler thread left running can no longer reach AWS, as a frozen sandbox can't."""

    _REVOKED = ReadOnlyCredentials("revoked-session", "revoked-session", None)

    def __init__(self, credentials: ReadOnlyCredentials | None) -> None:
        self._credentials = credentials
        self.revoked = False

    def credentials(self) -> ReadOnlyCredentials | None:
        return self._REVOKED if self.revoked else self._credentials


_current: ContextVar[Session | None] = ContextVar("local_cloud_session", default=None)


class PerFunctionCredentials(Credentials):
    """The credentials of the function whose invocation is running in this context, else the harness's."""

    def __init__(self, harness: ReadOnlyCredentials) -> None:
        super().__init__(
            str(harness.access_key), str(harness.secret_key), harness.token, method="local-cloud"
        )
        self._harness = harness

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        session = _current.get()
        return (session.credentials() if session else None) or self._harness


@contextlib.contextmanager
def acting_as(session: Session) -> Iterator[None]:
    """AWS calls made in this context (this thread) are signed with the session's credentials."""
    token = _current.set(session)
    try:
        yield
    finally:
        _current.reset(token)


@dataclass
class Identities:
    harness: ReadOnlyCredentials
    functions: dict[str, ReadOnlyCredentials]  # physical function name -> its role's session
    state_machine: ReadOnlyCredentials
    role_of: dict[str, str]  # role name -> function logical id (or the state machine's)


def _assume(sts: Any, role_arn: str, session_name: str) -> ReadOnlyCredentials:
    issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=43200)
    found = issued["Credentials"]
    return ReadOnlyCredentials(found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])


def establish(stack: Any, region: str) -> Identities:
    """The harness user and one STS session per function role (and the state machine's), made
    while the server is still lenient (AssumeRole as the Lambda service would)."""
    moto_bridge.restate_inline_role_policies()
    iam = boto3.client("iam", region_name=region)
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(UserName=ADMIN_USER, PolicyName="harness", PolicyDocument=_ADMIN_POLICY)
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    harness = ReadOnlyCredentials(key["AccessKeyId"], key["SecretAccessKey"], None)

    sts = boto3.client("sts", region_name=region)
    lambda_client = boto3.client("lambda", region_name=region)
    functions: dict[str, ReadOnlyCredentials] = {}
    role_of: dict[str, str] = {}
    for function in stack.functions:
        role_arn = lambda_client.get_function_configuration(FunctionName=function.physical_name)["Role"]
        functions[function.physical_name] = _assume(sts, role_arn, function.physical_name)
        role_of[role_arn.rsplit("/", 1)[-1]] = function.logical_id
    machines = [k for k, kind in stack.resource_types.items() if kind == "AWS::StepFunctions::StateMachine"]
    if len(machines) != 1:
        raise RuntimeError(f"the local cloud signs for one state machine, the stack has {machines}")
    sfn = boto3.client("stepfunctions", region_name=region)
    machine_role = sfn.describe_state_machine(stateMachineArn=stack.resources[machines[0]])["roleArn"]
    role_of[machine_role.rsplit("/", 1)[-1]] = machines[0]
    return Identities(harness, functions, _assume(sts, machine_role, machines[0]), role_of)


def _arn(service: str, region: str, account: str, kind: str, name: str) -> str:
    """The ARN of a resource a request names either by its name or by its ARN already."""
    return name if name.startswith("arn:") else f"arn:aws:{service}:{region}:{account}:{kind}{name}"


# A transaction is authorized as the actions it is made of (the DynamoDB developer guide,
# "Using IAM with DynamoDB transactions": https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
_TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _dynamodb_checks(
    action: str, parameters: dict[str, Any], region: str, account: str
) -> list[tuple[str, str]]:
    def table_arn(name: str, index: str | None = None) -> str:
        arn = _arn("dynamodb", region, account, "table/", name)
        return f"{arn}/index/{index}" if index else arn

    if action in ("BatchWriteItem", "BatchGetItem"):
        return [(action, table_arn(name)) for name in parameters.get("RequestItems", {})]
    if action in ("TransactWriteItems", "TransactGetItems"):
        checks = []
        for item in parameters.get("TransactItems", []):
            for kind, operation in item.items():
                checks.append(
                    (
                        _TRANSACTION_ITEM_ACTIONS.get(kind, kind),
                        table_arn(str(operation.get("TableName", ""))),
                    )
                )
        return list(dict.fromkeys(checks))
    table = parameters.get("TableName")
    return [(action, table_arn(str(table), parameters.get("IndexName")))] if table else [(action, "*")]


def resource_arns(
    service: str, action: str, parameters: dict[str, Any], path: str, region: str, account: str
) -> list[tuple[str, str]]:
    """What IAM checks for a request: (action, ARN) pairs, as the service authorization reference
    lists them (https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html).
    Actions that take no resource (PutMetricData, ...) are checked against "*"."""
    if service == "dynamodb":
        return _dynamodb_checks(action, parameters, region, account)
    return [(action, arn) for arn in _resources(service, action, parameters, path, region, account)]


def _resources(
    service: str, action: str, parameters: dict[str, Any], path: str, region: str, account: str
) -> list[str]:
    if service == "states":
        if "taskToken" in parameters:  # SendTask*: the state machine whose execution issued the token
            from agent_tasks_local import moto_bridge

            machine = moto_bridge.state_machine_of_task_token(str(parameters["taskToken"]))
            return [machine] if machine else ["*"]
        for key in ("executionArn", "stateMachineArn"):
            if key in parameters:
                return [str(parameters[key])]
        return ["*"]
    if service == "events" and action == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in parameters.get("Entries", [])}
        return sorted(_arn("events", region, account, "event-bus/", bus) for bus in buses) or ["*"]
    if service == "lambda" and "/functions/" in path:
        name = unquote(path.split("/functions/", 1)[1].split("/", 1)[0])
        return [_arn("lambda", region, account, "function:", name)]
    if service == "ssm" and "Name" in parameters:
        name = str(parameters["Name"])
        return [_arn("ssm", region, account, "parameter/", name.lstrip("/"))]
    if service == "secretsmanager" and "SecretId" in parameters:
        return [_arn("secretsmanager", region, account, "secret:", str(parameters["SecretId"]))]
    if service == "sns" and "TopicArn" in parameters:
        return [str(parameters["TopicArn"])]
    if service == "sqs" and "QueueUrl" in parameters:
        name = str(parameters["QueueUrl"]).rstrip("/").rsplit("/", 1)[-1]
        return [_arn("sqs", region, account, "", name)]
    if service == "kms" and "KeyId" in parameters:
        key = str(parameters["KeyId"])
        return [_arn("kms", region, account, "" if key.startswith("alias/") else "key/", key)]
    return ["*"]


@dataclass
class Ledger:
    """Every strict decision: which role did what to which resource, and whether IAM allowed it."""

    role_of: dict[str, str] = field(default_factory=dict)
    allowed: set[tuple[str, str, str]] = field(default_factory=set)  # (logical id, action, resource)
    denied: list[tuple[str, str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, principal: str, action: str, resource: str, allowed: bool) -> None:
        # arn:aws:sts::<account>:assumed-role/<role>/<session>, or an IAM user (the harness)
        parts = principal.split(":", 5)[-1].split("/")
        who = self.role_of.get(parts[1], parts[1]) if parts[0] == "assumed-role" else parts[-1]
        with self._lock:
            if allowed:
                self.allowed.add((who, action, resource))
            else:
                self.denied.append((who, action, resource))
        if not allowed:
            print(
                f"[local-cloud] AccessDenied: {who} may not {action} on {resource}",
                file=sys.stderr,
                flush=True,
            )

    def reset(self) -> None:
        with self._lock:
            self.allowed.clear()
            self.denied.clear()

    def used_actions(self, who: str) -> set[str]:
        with self._lock:
            return {action for principal, action, _ in self.allowed if principal == who}


def granted_actions(transformed: dict[str, Any], role_logical_id: str) -> set[str]:
    """The actions a role's inline policies (as the template states them) allow."""
    role = transformed["Resources"][role_logical_id]["Properties"]
    granted: set[str] = set()
    for policy in role.get("Policies", []):
        statements = policy["PolicyDocument"]["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect") != "Allow":
                continue
            actions = statement.get("Action", [])
            granted.update([actions] if isinstance(actions, str) else actions)
    return granted
