"""Every reliance on moto's internals, in one place.

moto's Lambda runs functions in Docker; we have none, so invocations are routed to our
handlers in-process by replacing `LambdaFunction._invoke_lambda`. Step Functions in moto
(server mode) calls Lambda over HTTP on `MOTO_PORT`, which lands here too. moto's version is
pinned in requirements/dev.lock, and tests/unit/local/test_moto_bridge.py fails loudly if
the internals used here move. The internals: `LambdaFunction._invoke_lambda`; the WSGI
app moto's own ThreadedMotoServer serves (`moto.moto_server.werkzeug_app`), which we serve with
DynamoDB requests made atomic; moto's IAM check (`ActionAuthenticatorMixin.
_authenticate_and_authorize_action`, `IAMRequest`), which the strict local cloud calls with
the resource each request acts on (moto passes "*" for most services); the Lambda client its
Step Functions interpreter makes (`lambda_eval_utils.boto_client_for`), which we sign with the
state machine's role; and `Rule.send_to_targets` of moto's EventBridge, which delivers to
Lambda targets here (moto raises NotImplementedError for them); DynamoDB's
`DynamoDBBackend.transact_write_items` with its `Table` (items, stream), whose whole-table backup
we replace with a backup of the items a transaction touches; and the Wait state's
`Timestamp._get_wait_seconds`, which reads the local clock here. Outside moto, botocore's
`Session.get_credentials` is where every client gets its (per-function) credentials.
"""

from __future__ import annotations

import copy
import functools
import inspect
import io
import json
import math
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import Credentials
from moto.awslambda.models import LambdaFunction
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.serialize import BaseJSONSerializer
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeTimedOut, CallbackPoolManager
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from agent_tasks_local import limits

# Called with (function name, event) and returns (payload, errored, log text), as moto expects.
Invoker = Callable[[str, Any], tuple[str, bool, str]]

_EXPECTED_INVOKE_PARAMETERS = ["self", "event"]


def check_internals() -> None:
    """Raise if the moto internals this module relies on are not what it was written against."""
    target = getattr(LambdaFunction, "_invoke_lambda", None)
    if target is None:
        raise RuntimeError(
            "moto.awslambda.models.LambdaFunction._invoke_lambda is gone: re-check moto_bridge"
        )
    parameters = list(inspect.signature(target).parameters)
    if parameters != _EXPECTED_INVOKE_PARAMETERS:
        raise RuntimeError(
            f"LambdaFunction._invoke_lambda takes {parameters}, expected {_EXPECTED_INVOKE_PARAMETERS}"
        )
    for attribute in ("function_name", "handler", "timeout"):
        if attribute not in LambdaFunction.__init__.__code__.co_names:
            raise RuntimeError(f"LambdaFunction no longer sets {attribute!r}: re-check moto_bridge")
    _check_signature(
        ActionAuthenticatorMixin._authenticate_and_authorize_action, ["self", "iam_request_cls", "resource"]
    )
    _check_signature(
        lambda_eval_utils.boto_client_for,  # type: ignore[attr-defined]
        ["region", "service", "state_credentials"],
        "lambda_eval_utils.boto_client_for",
    )
    _check_signature(Rule.send_to_targets, ["self", "original_event", "transform_input"])
    if "scheduled_expression" not in Rule.__init__.__code__.co_names:
        raise RuntimeError("moto's events Rule no longer sets 'scheduled_expression': re-check moto_bridge")
    _check_signature(botocore.session.Session.get_credentials, ["self"])
    _check_signature(BaseExecutionWorkerCommunication.terminated, ["self"])
    _check_signature(CallbackPoolManager.get, ["self", "callback_id"])
    _check_signature(CallbackPoolManager.notify, ["self", "callback_id", "outcome"])
    _check_signature(CallbackOutcomeTimedOut.__init__, ["self", "callback_id"])
    _check_signature(Timestamp._get_wait_seconds, ["self", "env"])
    _check_signature(Timestamp._from_timestamp_string, ["timestamp"], "Timestamp._from_timestamp_string")
    _check_signature(Timestamp._create_failure_event, ["self", "env", "timestamp_str"])
    if "_pool" not in CallbackPoolManager.__init__.__code__.co_names:
        raise RuntimeError("moto's CallbackPoolManager no longer keeps '_pool': re-check moto_bridge")
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if "_get_executions" not in vars(StepFunctionsParserBackend):
        raise RuntimeError("moto's StepFunctionsParserBackend._get_executions is gone: re-check moto_bridge")
    for attribute in ("_access_key", "check_signature", "check_action_permitted"):
        if attribute not in _IAM_REQUEST_NAMES:
            raise RuntimeError(f"moto's IAMRequest no longer has {attribute!r}: re-check moto_bridge")
    _check_transactions()
    _check_signature(
        BaseJSONSerializer._serialize_type_structure,
        ["self", "serialized", "value", "shape", "key"],
        "moto's BaseJSONSerializer._serialize_type_structure",
    )
    _check_signature(BaseJSONSerializer.get_serialized_name, ["self", "shape", "default_name"])


def _check_transactions() -> None:
    """What transactions_at_item_cost relies on: moto's TransactWriteItems backs up each table it names
    with copy.deepcopy and rolls back by putting the backups in place; a table keeps its items in
    `items` (hash key -> item, or hash key -> range key -> item) and its stream in `stream_shard`;
    and Table copies as a plain object (no deepcopy or pickling hooks of its own but ours)."""
    _check_signature(DynamoDBBackend.transact_write_items, ["self", "transact_items"])
    source = _source_of(DynamoDBBackend.transact_write_items)
    for needle in ("copy.deepcopy(", "self.tables[table_name] = original_table_state[table_name]"):
        if needle not in source:
            raise RuntimeError(
                f"moto's transact_write_items no longer has {needle!r}: re-check transactions_at_item_cost"
            )
    for attribute in ("items", "stream_shard", "hash_key_attr", "range_key_attr"):
        if attribute not in Table.__init__.__code__.co_names:
            raise RuntimeError(f"moto's dynamodb Table no longer sets {attribute!r}: re-check moto_bridge")
    if vars(Table).get("__deepcopy__", _table_deepcopy) is not _table_deepcopy or any(
        hook in vars(Table) for hook in ("__slots__", "__getstate__", "__reduce__", "__reduce_ex__")
    ):
        raise RuntimeError("moto's dynamodb Table copies itself its own way: re-check moto_bridge")


@functools.cache
def _source_of(function: Callable[..., Any]) -> str:
    """A function's source, read once per function object (tokenising it is most of a check's cost)."""
    return inspect.getsource(function)


def _check_signature(target: Callable[..., Any], expected: list[str], name: str = "") -> None:
    parameters = list(inspect.signature(target).parameters)
    if parameters != expected:
        name = name or getattr(target, "__qualname__", repr(target))
        raise RuntimeError(f"{name} takes {parameters}, expected {expected}: re-check moto_bridge")


def route_lambda_invocations(invoker: Invoker) -> Callable[[], None]:
    """Send every Lambda invocation moto receives to `invoker`; returns a function that undoes it."""
    check_internals()
    original = LambdaFunction._invoke_lambda

    def _invoke_in_process(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        return invoker(self.function_name, event if event is not None else {})

    LambdaFunction._invoke_lambda = _invoke_in_process  # type: ignore[method-assign]

    def restore() -> None:
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]

    return restore


# ---------------------------------------------------------------- IAM, as AWS enforces it

# Marks a request that came in through the local cloud's own server while IAM is enforced (moto's
# in-process mock in the same test process is left as lenient as it always was).
STRICT_HEADER = "X-Local-Cloud-Strict"
_STRICT_ENVIRON_KEY = "HTTP_" + STRICT_HEADER.upper().replace("-", "_")

# Called with (service, IAM action, request parameters, path, region, account): what IAM checks,
# as (action, resource ARN) pairs (a DynamoDB transaction is checked as its Put/Update/... items).
ResourceResolver = Callable[[str, str, dict[str, Any], str, str, str], list[tuple[str, str]]]
# Called with (principal ARN, "service:Action", resource ARN, allowed) for every strict decision.
DecisionRecorder = Callable[[str, str, str, bool], None]

# Where moto's operation name is not the IAM action (the service authorization reference).
_IAM_ACTION_NAMES = {
    "lambda:Invoke": "InvokeFunction",
    "lambda:InvokeAsync": "InvokeFunction",
    # SQS authorizes a batch as its single action (the SQS developer guide, "Amazon SQS API
    # permissions: Actions and resource reference"): SendMessageBatch needs sqs:SendMessage.
    "sqs:SendMessageBatch": "SendMessage",
    "sqs:DeleteMessageBatch": "DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}

_IAM_REQUEST_NAMES: set[str] = set()


def _load_iam_request_names() -> None:
    from moto.iam.access_control import IAMRequestBase

    _IAM_REQUEST_NAMES.update(dir(IAMRequestBase))
    _IAM_REQUEST_NAMES.update(IAMRequestBase.__init__.__code__.co_names)


_load_iam_request_names()


def _request_parameters(response: Any) -> dict[str, Any]:
    body = getattr(response, "body", None)
    if isinstance(body, dict):
        return body
    for text in (body, getattr(response, "raw_body", None)):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if isinstance(text, str) and text.startswith("{"):
            try:
                parsed = json.loads(text)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                return parsed
        elif isinstance(text, str) and "=" in text:
            # A query-protocol request (SNS, the older SQS): form-encoded `Name=value&...`.
            return {key: values[0] for key, values in parse_qs(text).items() if values}
    query = getattr(response, "querystring", None)
    if isinstance(query, dict):
        return {str(key): values[0] for key, values in query.items() if isinstance(values, list) and values}
    return {}


def enforce_iam(resolve: ResourceResolver, record: DecisionRecorder) -> Callable[[], None]:
    """Check every strict request against the caller's policies, for the resource it acts on.

    moto's own check (signature, access key → user or assumed role → policies) is used as is;
    what it lacks is the resource for most services (it passes "*", which matches no scoped
    statement) and IAM's action names where they differ from the operation's.
    """
    check_internals()
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action

    def _authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        if not self.headers.get(STRICT_HEADER):
            original(self, iam_request_cls, resource)
            return
        headers = self.headers
        query = urlparse(self.uri).query
        signed_query = parse_qs(query)
        access_key = (signed_query.get("X-Amz-Credential") or signed_query.get("AWSAccessKeyId") or [""])[0]
        presigned = "Authorization" not in headers and bool(access_key)
        if presigned:
            # A presigned URL: moto checks no query-string signature, but the signer's policy
            # still decides, as in S3 (the URL acts with the permissions of whoever signed it).
            headers = dict(headers)
            credential = (
                access_key if "/" in access_key else f"{access_key}/00000000/{self.region}/s3/aws4_request"
            )
            headers["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature="
            )
            token = signed_query.get("X-Amz-Security-Token") or signed_query.get("x-amz-security-token")
            if token:
                headers["X-Amz-Security-Token"] = token[0]
        scope = str(headers.get("Authorization", "")).partition("Credential=")[2].split("/")
        service = scope[3] if len(scope) > 3 else "unknown"
        operation = self._get_action()
        action = _IAM_ACTION_NAMES.get(f"{service}:{operation}", operation)
        path = self.raw_path + (f"?{query}" if query else "")
        checks = (
            [(action, resource)]
            if resource != "*"
            else resolve(
                service, action, _request_parameters(self), self.raw_path, self.region, self.current_account
            )
        )
        for checked_action, acted_on in checks or [(action, "*")]:
            request = iam_request_cls(
                account_id=self.current_account,
                method=self.method,
                path=path,
                # moto signs `body or data`, but a GET (a Lambda one) was signed with no payload
                data={} if self.method in ("GET", "HEAD", "DELETE") and service != "s3" else self.data,
                body=self.raw_body,
                headers=headers,
                action=checked_action,
            )
            if not presigned:
                request.check_signature()
            principal = str(request._access_key.arn)
            try:
                request.check_action_permitted(acted_on)
            except HTTPException:
                record(principal, f"{service}:{checked_action}", acted_on, False)
                raise
            record(principal, f"{service}:{checked_action}", acted_on, True)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = _authorize  # type: ignore[method-assign,assignment]

    def restore() -> None:
        ActionAuthenticatorMixin._authenticate_and_authorize_action = original  # type: ignore[method-assign]

    return restore


def restate_inline_role_policies() -> None:
    """moto's CloudFormation keeps a role's inline policies as parsed documents, which its own IAM
    check (and GetRolePolicy) cannot read; store each as the JSON text IAM keeps, adding the
    version IAM assumes when a template's statement names none."""
    from moto.iam.models import iam_backends

    for partitions in iam_backends.values():
        for backend in partitions.values():
            for role in backend.roles.values():
                for name, document in list(role.policies.items()):
                    if isinstance(document, dict):
                        role.policies[name] = json.dumps({"Version": "2012-10-17", **document})


def use_credentials(credentials: Credentials) -> Callable[[], None]:
    """Every botocore client made without explicit keys signs with `credentials` (which may change
    per request: see iam.PerFunctionCredentials)."""
    check_internals()
    original = botocore.session.Session.get_credentials

    def get_credentials(self: botocore.session.Session) -> Credentials:
        return credentials

    botocore.session.Session.get_credentials = get_credentials  # type: ignore[method-assign,assignment]

    def restore() -> None:
        botocore.session.Session.get_credentials = original  # type: ignore[method-assign]

    return restore


class _StateLimitedLambda:
    """The Lambda client of a workflow's task states: a task's input or result over Step Functions'
    limit fails the task with States.DataLimitExceeded, as in AWS (moto carries any size)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        sent = parameters.get("Payload", b"")
        if limits.over(limits.STATE_PAYLOAD, sent):
            return _task_failure(
                limits.state_data_exceeded(str(parameters.get("FunctionName")), "input", sent)
            )
        response: dict[str, Any] = self._client.invoke(**parameters)
        body = response["Payload"].read()
        if not response.get("FunctionError") and limits.over(limits.STATE_PAYLOAD, body):
            return _task_failure(
                limits.state_data_exceeded(str(parameters.get("FunctionName")), "result", body)
            )
        response["Payload"] = io.BytesIO(body)
        return response


def _task_failure(error: dict[str, str]) -> dict[str, Any]:
    return {
        "StatusCode": 200,
        "FunctionError": "Unhandled",
        "Payload": io.BytesIO(json.dumps(error).encode()),
    }


def route_state_machine_calls(credentials: Callable[[], Credentials] | None = None) -> Callable[[], None]:
    """moto's Step Functions calls Lambda with made-up keys and no payload limit: its task states
    get the state payload limit, and (with `credentials`) sign with the state machine's role, so
    its policy is what lets it invoke the functions."""
    check_internals()
    original = lambda_eval_utils.boto_client_for  # type: ignore[attr-defined]

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        client = original(region, service, state_credentials)
        if credentials is not None:
            signed = credentials()
            client = boto3.client(  # type: ignore[call-overload]
                service,
                region_name=region,
                endpoint_url=client.meta.endpoint_url,
                aws_access_key_id=signed.access_key,
                aws_secret_access_key=signed.secret_key,
                aws_session_token=signed.token,
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=client.meta.config.connect_timeout,  # type: ignore[attr-defined]
                    read_timeout=client.meta.config.read_timeout,  # type: ignore[attr-defined]
                ),
            )
        return _StateLimitedLambda(client) if service == "lambda" else client

    lambda_eval_utils.boto_client_for = boto_client_for  # type: ignore[attr-defined]

    def restore() -> None:
        lambda_eval_utils.boto_client_for = original  # type: ignore[attr-defined]

    return restore


# Called with the status-change detail of a workflow that ended (as EventBridge receives it).
WorkflowEnded = Callable[[dict[str, Any]], None]


def announce_workflow_ends(announce: WorkflowEnded) -> Callable[[], None]:
    """AWS puts a "Step Functions Execution Status Change" event on the default bus when a workflow
    ends; moto does not. Here each ended workflow's detail goes to `announce`."""
    check_internals()
    original = BaseExecutionWorkerCommunication.terminated

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        execution = self.execution
        status = getattr(execution.exec_status, "value", execution.exec_status)

        def millis(moment: Any) -> int | None:
            return int(moment.timestamp() * 1000) if moment is not None else None

        announce(
            {
                "executionArn": execution.exec_arn,
                "stateMachineArn": execution.state_machine_arn,
                "name": execution.name,
                "status": str(status),
                "startDate": millis(execution.start_date),
                "stopDate": millis(execution.stop_date),
                "input": execution.execution_input,
                "output": json.dumps(execution.output) if execution.output is not None else None,
                "error": execution.error,
                "cause": execution.cause,
            }
        )

    BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]

    def restore() -> None:
        BaseExecutionWorkerCommunication.terminated = original  # type: ignore[method-assign]

    return restore


# ---------------------------------------------------------------- callback (.waitForTaskToken) tasks


def _interpreted_executions() -> list[Any]:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    executions: list[Any] = []
    for regions in list(stepfunctions_parser_backends.values()):
        for backend in list(regions.values()):
            executions.extend(backend._get_executions())
    return executions


def _callback_pool(execution: Any) -> Any:
    worker = getattr(execution, "exec_worker", None)
    env = getattr(worker, "env", None) if worker is not None else None
    return getattr(env, "callback_pool_manager", None) if env is not None else None


def state_machine_of_task_token(task_token: str) -> str | None:
    """The state machine whose execution issued `task_token` (what IAM authorizes SendTaskSuccess,
    SendTaskFailure and SendTaskHeartbeat against), or None when no execution knows it."""
    check_internals()
    for execution in _interpreted_executions():
        pool = _callback_pool(execution)
        if pool is not None and pool.get(task_token) is not None:
            return str(execution.state_machine_arn)
    return None


def time_out_task_waits(execution_name: str) -> int:
    """End every `.waitForTaskToken` wait of the named (running) execution as its TimeoutSeconds would:
    the state fails with States.Timeout. Returns how many waits were ended. For tests: the shortest
    wait the service allows is 60 s, and tests do not sleep."""
    check_internals()
    ended = 0
    for execution in _interpreted_executions():
        if execution.name != execution_name:
            continue
        pool = _callback_pool(execution)
        if pool is None:
            continue
        for token, endpoint in list(pool._pool.items()):
            if endpoint.get_outcome() is None and pool.notify(
                token, CallbackOutcomeTimedOut(callback_id=token)
            ):
                ended += 1
    return ended


# ---------------------------------------------------------------- Wait states until a timestamp

# The local clock of Wait states with Timestamp/TimestampPath: aware UTC now (injectable, so a test of
# a workflow started ahead of its slot does not sleep until the slot).
WaitClock = Callable[[], datetime]


def honour_wait_timestamps(clock: WaitClock) -> Callable[[], None]:
    """moto's Wait until a timestamp compares it with the machine's naive local time (`datetime.now()`:
    hours off unless the machine runs in UTC); here it is compared with `clock()`, aware UTC, and a
    timestamp already past waits not at all, as in AWS."""
    check_internals()
    original = Timestamp._get_wait_seconds

    def _get_wait_seconds(self: Timestamp, env: Any) -> int:
        self.string.eval(env=env)
        text: str = env.stack.pop()
        moment = Timestamp._from_timestamp_string(timestamp=text)
        if moment is None:
            raise FailureEventException(self._create_failure_event(env, text))
        return max(0, math.ceil((moment.replace(tzinfo=UTC) - clock()).total_seconds()))

    Timestamp._get_wait_seconds = _get_wait_seconds  # type: ignore[method-assign]

    def restore() -> None:
        Timestamp._get_wait_seconds = original  # type: ignore[method-assign]

    return restore


# ---------------------------------------------------------------- EventBridge rules with Lambda targets

# Called with (function ARN, event) for each Lambda target of a matching rule.
LambdaDelivery = Callable[[str, dict[str, Any]], None]


def deliver_rules_to_lambda(deliver: LambdaDelivery) -> Callable[[], None]:
    """moto matches an event against each rule's pattern, then raises for Lambda targets; here the
    Lambda targets of a matching rule go to `deliver` (moto's matching and input transformation
    stay moto's), and the other targets to moto as before."""
    check_internals()
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if self.scheduled_expression:
            return  # a schedule's rule fires on its schedule only; moto would match its empty pattern
        functions = [t for t in self.targets if ":lambda:" in str(t.get("Arn", ""))]
        if functions and self.event_pattern.matches_event(original_event):
            for target in functions:
                transformer = target.get("InputTransformer", {}) if transform_input else {}
                event = (
                    EventTemplateParser.parse(
                        input_template=transformer.get("InputTemplate"),  # type: ignore[arg-type]
                        input_paths_map=transformer.get("InputPathsMap", {}),
                        event=original_event,
                    )
                    if transform_input
                    else dict(original_event)
                )
                deliver(str(target["Arn"]), event)
        others = [t for t in self.targets if t not in functions]
        if others:
            rest = copy.copy(self)
            rest.targets = others
            original(rest, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]

    def restore() -> None:
        Rule.send_to_targets = original  # type: ignore[method-assign]

    return restore


# ---------------------------------------------------------------- DynamoDB transactions at their items' cost

_in_transaction = threading.local()


def _table_deepcopy(self: Table, memo: dict[int, Any]) -> Table:
    """A Table's deep copy, as copy.deepcopy makes it, except inside TransactWriteItems (on the
    thread running it): there the "backup" moto takes of every table the transaction names is the
    live table itself, and the items the transaction touches are kept and restored instead (below)."""
    if getattr(_in_transaction, "active", False):
        return self
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    clone.__dict__.update(copy.deepcopy(self.__dict__, memo))
    return clone


class _TouchedItems:
    """The items a TransactWriteItems names, as they were before it (None: absent), and how long each
    table's stream was: what restoring the tables after a failed transaction needs."""

    def __init__(self, backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        self._items: dict[tuple[int, DynamoType, DynamoType | None], tuple[Table, Item | None]] = {}
        self._streams: dict[int, tuple[Table, int]] = {}
        for entry in transact_items:
            for operation in entry.values():
                if isinstance(operation, dict):
                    self._keep(backend, operation)

    def _keep(self, backend: DynamoDBBackend, operation: dict[str, Any]) -> None:
        try:
            table = backend.get_table(str(operation.get("TableName")))
            attributes = operation["Item"] if "Item" in operation else operation["Key"]
            hash_key = DynamoType(attributes[table.hash_key_attr])
            range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
        except (ResourceNotFoundException, KeyError, TypeError, AttributeError):
            return  # moto refuses this operation itself, before writing it
        identity = (id(table), hash_key, range_key)
        if identity not in self._items:
            stored: Any = table.items.get(hash_key)  # the item, or (range key table) its partition
            if range_key is not None:
                stored = stored.get(range_key) if isinstance(stored, dict) else None
            self._items[identity] = (table, copy.deepcopy(stored))
        if table.stream_shard is not None and id(table) not in self._streams:
            self._streams[id(table)] = (table, len(table.stream_shard.items))

    def restore(self) -> None:
        for (_, hash_key, range_key), (table, before) in self._items.items():
            if range_key is None:
                if before is None:
                    table.items.pop(hash_key, None)
                else:
                    table.items[hash_key] = before  # type: ignore[assignment]  # moto types it so too
                continue
            partition = table.items.get(hash_key)
            if before is not None:
                table.items[hash_key][range_key] = before
            elif isinstance(partition, dict):
                partition.pop(range_key, None)
                if not partition:
                    table.items.pop(hash_key, None)
        for table, length in self._streams.values():
            if table.stream_shard is not None:
                del table.stream_shard.items[length:]


def transactions_at_item_cost() -> Callable[[], None]:
    """moto's TransactWriteItems deep-copies every table it names before writing, to roll back a
    failed transaction: O(table) per transaction, which makes 1,000 scheduled starts quadratic.
    Here the rollback keeps and restores only the items the transaction names (at most 100), so a
    transaction costs what its items cost. moto's own logic (conditions, order, errors) is unchanged:
    only its table copy becomes the live table and, when it fails, the kept items are put back (the
    rollback moto does by swapping the tables in). Returns a function that undoes it."""
    check_internals()
    original = DynamoDBBackend.transact_write_items
    if "__deepcopy__" in Table.__dict__:
        return lambda: None  # already in place (the tests' `aws` fixture and a local cloud in one process)

    @functools.wraps(original)  # check_internals reads moto's own (through __wrapped__)
    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        touched = _TouchedItems(self, transact_items)
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except BaseException:
            touched.restore()
            raise
        finally:
            _in_transaction.active = False

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.__deepcopy__ = _table_deepcopy  # type: ignore[attr-defined]

    def restore() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]
        del Table.__deepcopy__  # type: ignore[attr-defined]

    return restore


# ---------------------------------------------------------------- DynamoDB answers without moto's shape walk

_ATTRIBUTE_VALUE_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_SCALAR_TYPES = frozenset({"S", "N"})
_SET_TYPES = frozenset({"SS", "NS"})


def _wire_ready(value: Any) -> bool:
    """Whether an attribute value as moto answers it is already its JSON wire form: one type key, text
    for S and N, text lists for SS and NS, booleans for NULL and BOOL, and maps or lists of such.
    Binary values (B, BS) are left to moto's serializer (it encodes them)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in _SCALAR_TYPES:
        return isinstance(inner, str)
    if kind == "M":
        return isinstance(inner, dict) and all(_wire_ready(member) for member in inner.values())
    if kind == "L":
        return isinstance(inner, list) and all(_wire_ready(member) for member in inner)
    if kind in _SET_TYPES:
        return isinstance(inner, list) and all(isinstance(member, str) for member in inner)
    if kind in ("NULL", "BOOL"):
        return isinstance(inner, bool)
    return False


def answers_without_shape_walk() -> Callable[[], None]:
    """moto 5.2 serialises every answer by walking the operation's output shape; for DynamoDB that is
    each of an AttributeValue's ten members, for each attribute of each item, with alias lookups on
    every step: most of a GetItem's cost (about 100 ms a task item under a profiler here). An
    attribute value moto holds is already the JSON DynamoDB answers, so here a DynamoDB AttributeValue
    already in wire form is put into the answer as it is; anything else (binary values, other
    services) goes through moto's serializer as before. Returns a function that undoes it."""
    check_internals()
    original = BaseJSONSerializer._serialize_type_structure

    @functools.wraps(original)
    def _serialize_type_structure(
        self: BaseJSONSerializer, serialized: Any, value: Any, shape: Any, key: str
    ) -> None:
        if (
            key
            and shape.name == "AttributeValue"
            and self.operation_model.service_model.service_name in _ATTRIBUTE_VALUE_SERVICES
            and _wire_ready(value)
        ):
            serialized[self.get_serialized_name(shape, key)] = value
            return
        original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]

    def restore() -> None:
        BaseJSONSerializer._serialize_type_structure = original  # type: ignore[method-assign]

    return restore


_TOKEN_SECONDS = 600  # how long DynamoDB honours a ClientRequestToken


class _AtomicDynamoDB:
    """WSGI middleware: one DynamoDB request at a time.

    DynamoDB applies each request atomically (a transaction above all); moto's server does not
    lock, and two TransactWriteItems at once can both pass their conditions or tear the table.
    Requests still interleave freely *between* one another, which is what concurrency tests need.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.strict = False
        self.clock: Callable[[], float] = time.monotonic
        # ClientRequestToken -> (request body, status, headers, response) of a transaction that succeeded,
        # oldest first; each is kept _TOKEN_SECONDS, as DynamoDB keeps it (botocore sends a token with
        # every TransactWriteItems, so a long-lived dev server would otherwise keep every one).
        self._transactions: dict[str, tuple[bytes, str, list[tuple[str, str]], list[bytes]]] = {}
        self._remembered_at: dict[str, float] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop(_STRICT_ENVIRON_KEY, None)
        if self.strict:
            environ[_STRICT_ENVIRON_KEY] = "1"
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target.startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            if target.endswith(".TransactWriteItems"):
                return self._idempotent_transaction(environ, start_response)
            return list(self._app(environ, start_response))

    def _idempotent_transaction(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """DynamoDB's ClientRequestToken: a TransactWriteItems repeated with the token of one that
        succeeded succeeds again without applying anything (botocore sends one token per call and
        keeps it across its retries, so a retry after a read timeout must not fail its own conditions).
        moto ignores the token; DynamoDB and this middleware keep it 10 minutes."""
        self._forget_expired_tokens()
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            token = str(json.loads(body or b"{}").get("ClientRequestToken") or "")
        except ValueError:
            token = ""
        if token and token in self._transactions:
            first_body, status, headers, response = self._transactions[token]
            if first_body != body:
                mismatch = json.dumps(
                    {
                        "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                        "message": "the ClientRequestToken was used with other parameters",
                    }
                ).encode()
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
                return [mismatch]
            start_response(status, headers)
            return response
        answer: dict[str, Any] = {}

        def remember(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            answer.update(status=status, headers=list(headers))
            return start_response(status, headers, *rest)

        response = list(self._app(environ, remember))
        if token and str(answer.get("status", "")).startswith("200"):
            self._transactions[token] = (body, answer["status"], answer["headers"], response)
            self._remembered_at[token] = self.clock()
        return response

    def _forget_expired_tokens(self) -> None:
        horizon = self.clock() - _TOKEN_SECONDS
        while self._remembered_at:  # oldest first: stop at the first one still kept
            token, at = next(iter(self._remembered_at.items()))
            if at > horizon:
                return
            del self._remembered_at[token], self._transactions[token]


class MotoServer:
    """moto in server mode on loopback, in a thread of this process (as moto's ThreadedMotoServer,
    with DynamoDB requests made atomic)."""

    def __init__(self, host: str, port: int) -> None:
        app = self._app = _AtomicDynamoDB(
            limits.StartExecutionLimit(DomainDispatcherApplication(create_backend_app))
        )
        self._server: BaseWSGIServer = make_server(host, port, app, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto")

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def enforce_iam(self, strict: bool = True) -> None:
        """From now on, requests to this server are checked against the caller's IAM policies."""
        self._app.strict = strict

    def start(self) -> MotoServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_server(host: str, port: int) -> MotoServer:
    return MotoServer(host, port).start()


def bound_port(server: MotoServer) -> int:
    """The port the server listens on (when started on port 0)."""
    return server.port


def enable_state_machine_execution(endpoint: str, *, enabled: bool = True) -> None:
    """Switch moto's ASL interpreter on (or off) through its documented configuration endpoint.

    Off, StartExecution only records the execution (in moto's plain backend, where state machines
    created while it is off live): what a test of 1,000 starts needs, as the interpreter costs
    about 0.3 s of CPU per start."""
    body = json.dumps({"stepfunctions": {"execute_state_machine": enabled}}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback moto endpoint
        f"{endpoint}/moto-api/config", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
