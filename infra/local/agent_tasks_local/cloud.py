"""The local cloud in one object: moto on loopback, the template deployed, handlers in-process,
the API front and the rule loop. `make dev` and the integration tests both use it."""

from __future__ import annotations

import json
import logging
import os
import threading
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.credentials import Credentials
from werkzeug.serving import BaseWSGIServer

from agent_tasks_local import iam, moto_bridge
from agent_tasks_local.async_invoke import AsyncInvoker
from agent_tasks_local.deploy import DeployedStack, deploy, load_template
from agent_tasks_local.front import ApiFront, routes_from_template
from agent_tasks_local.jwt_dev import DevIssuer, state_dir
from agent_tasks_local.lambdas import FunctionHost
from agent_tasks_local.queues import QueuePoller, queue_sources
from agent_tasks_local.rules import RuleFirer

PROJECT_ROOT = Path(__file__).resolve().parents[3]
REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK_NAME = "agent-tasks-local"
# Fake credentials (moto accepts anything): nothing here may ever reach a real AWS account.
LOCAL_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
}


@dataclass
class LocalCloud:
    template_path: Path = PROJECT_ROOT / "template.yaml"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    fire_rules: bool = True
    # Deliver SQS event sources in the background, as Lambda's pollers do (tests may also `drain`).
    poll_queues: bool = True
    parameters: dict[str, str] = field(default_factory=lambda: {"Environment": "local"})
    # Environment for the in-process functions beyond the template's (e.g. MODEL_PROVIDER in tests).
    extra_environment: dict[str, str] = field(default_factory=dict)
    # Each function calls AWS with its own role and the server enforces the template's policies.
    strict_iam: bool = True
    # Seconds before retry n of a failed asynchronous invocation (AWS waits about 1, then 2 minutes).
    async_retry_delay: Any = field(default=lambda _retry: 0.0)
    # The clock of workflows' Wait-until-timestamp states (a slot started ahead waits for its time):
    # aware UTC now. A test sets a later one (`wait_clock`) so a workflow need not wait out the slot.
    wait_clock: Any = field(default=lambda: datetime.now(UTC))

    ledger: iam.Ledger = field(default_factory=iam.Ledger, init=False)
    # (function logical id, event) of every EventBridge rule delivery, in order, for tests.
    rule_deliveries: list[tuple[str, dict[str, Any]]] = field(default_factory=list, init=False)

    stack: DeployedStack | None = field(default=None, init=False)
    host: FunctionHost | None = field(default=None, init=False)
    rules: RuleFirer | None = field(default=None, init=False)
    queues: QueuePoller | None = field(default=None, init=False)
    # Asynchronous invocations (EventBridge rule targets): retries and on-failure destinations.
    async_invoker: AsyncInvoker | None = field(default=None, init=False)
    issuer: DevIssuer | None = field(default=None, init=False)
    front: ApiFront | None = field(default=None, init=False)
    moto_endpoint: str = field(default="", init=False)
    _moto: Any = field(default=None, init=False, repr=False)
    _api_server: BaseWSGIServer | None = field(default=None, init=False, repr=False)
    _restore_lambda: Any = field(default=None, init=False, repr=False)
    _restores: list[Any] = field(default_factory=list, init=False, repr=False)

    @property
    def api_url(self) -> str:
        assert self._api_server is not None, "start() first"
        return f"http://{self.api_host}:{self._api_server.server_port}"

    def start(self) -> LocalCloud:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse", category=UserWarning)
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        os.environ.update(LOCAL_AWS_ENVIRONMENT)
        os.environ.pop("AWS_PROFILE", None)
        self._moto = moto_bridge.start_server("127.0.0.1", 0)
        port = moto_bridge.bound_port(self._moto)
        self.moto_endpoint = f"http://127.0.0.1:{port}"
        os.environ["AWS_ENDPOINT_URL"] = self.moto_endpoint
        os.environ["MOTO_PORT"] = str(port)  # where moto's Step Functions calls Lambda

        self.host = FunctionHost(REGION, ACCOUNT)
        self._restore_lambda = moto_bridge.route_lambda_invocations(self.host.invoke)
        # moto copies the whole table per TransactWriteItems; here a transaction costs its items
        self._restores.append(moto_bridge.transactions_at_item_cost())
        # ... and its answers skip moto's walk of the output shape (attribute values are wire-ready)
        self._restores.append(moto_bridge.answers_without_shape_walk())
        self.stack = deploy(
            self.template_path,
            stack_name=STACK_NAME,
            region=REGION,
            account=ACCOUNT,
            parameters=self.parameters,
        )
        self._make_state_machines_executable()
        for function in self.stack.functions:
            self.host.register(function)
        host = self.host
        self.async_invoker = AsyncInvoker(
            host, REGION, ACCOUNT, credentials=host.credentials_of, retry_delay=self.async_retry_delay
        )
        self._restores.append(moto_bridge.deliver_rules_to_lambda(self._deliver_to_function))
        self._restores.append(moto_bridge.announce_workflow_ends(self._workflow_ended))
        self._restores.append(moto_bridge.honour_wait_timestamps(lambda: self.wait_clock()))
        if self.strict_iam:
            self._enforce_iam()
        else:
            self._restores.append(moto_bridge.route_state_machine_calls())
        self._export_function_environment()

        self.issuer = DevIssuer.load_or_create(state_dir())
        template = load_template(self.template_path)
        front = self.front = ApiFront(
            routes=routes_from_template(template, "ApiFunction"),
            function_name=self.stack.resources["ApiFunction"],
            issuer=self.issuer,
            region=REGION,
            account=ACCOUNT,
        )
        self._api_server = front.serve(self.api_host, self.api_port)
        threading.Thread(target=self._api_server.serve_forever, daemon=True, name="api-front").start()

        self.rules = RuleFirer(
            self.stack.schedules,
            self.host,
            region=REGION,
            account=ACCOUNT,
            rule_names={
                k: v
                for k, v in self.stack.resources.items()
                if k in {r.logical_id for r in self.stack.schedules}
            },
        )
        if self.fire_rules:
            self.rules.start()
        self.queues = QueuePoller(
            queue_sources(self.stack.transformed),
            resources=self.stack.resources,
            function_names={function.logical_id: function.physical_name for function in self.stack.functions},
            region=REGION,
            account=ACCOUNT,
        )
        if self.poll_queues:
            self.queues.start()
        return self

    def _make_state_machines_executable(self) -> None:
        """moto's CloudFormation creates state machines in its plain backend, while executing them is a
        second backend (switched on by configuration); so once the stack exists, each state machine is
        created again, with the same name and definition, where it will run."""
        assert self.stack is not None
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machines = [
            sfn.describe_state_machine(stateMachineArn=self.stack.resources[logical_id])
            for logical_id, kind in self.stack.resource_types.items()
            if kind == "AWS::StepFunctions::StateMachine"
        ]
        moto_bridge.enable_state_machine_execution(self.moto_endpoint)
        for machine in machines:
            sfn.create_state_machine(
                name=machine["name"],
                definition=machine["definition"],
                roleArn=machine["roleArn"],
                type=machine.get("type", "STANDARD"),
            )

    def _deliver_to_function(self, function_arn: str, event: dict[str, Any]) -> None:
        """An EventBridge rule's Lambda target: invoked asynchronously, as EventBridge does, with the
        function's retry policy and on-failure destination (async_invoke.py)."""
        assert self.host is not None
        assert self.async_invoker is not None
        function = self.host.by_arn(function_arn)
        self.rule_deliveries.append((function.logical_id, event))
        self.async_invoker.submit(function, event)

    @staticmethod
    def _workflow_ended(detail: dict[str, Any]) -> None:
        """What Step Functions puts on the default bus when a workflow ends (the reconciler's rule)."""
        boto3.client("events", region_name=REGION).put_events(
            Entries=[
                {
                    "Source": "aws.states",
                    "DetailType": "Step Functions Execution Status Change",
                    "Resources": [detail["executionArn"]],
                    "Detail": json.dumps(detail),
                }
            ]
        )

    def _enforce_iam(self) -> None:
        """Sign as the template's roles and have the server check their policies (see iam.py)."""
        assert self.stack is not None
        assert self.host is not None
        identities = iam.establish(self.stack, REGION)
        self.ledger.role_of.update(identities.role_of)
        os.environ["AWS_ACCESS_KEY_ID"] = str(identities.harness.access_key)
        os.environ["AWS_SECRET_ACCESS_KEY"] = str(identities.harness.secret_key)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        boto3.DEFAULT_SESSION = None
        machine = identities.state_machine
        self._restores += [
            moto_bridge.use_credentials(iam.PerFunctionCredentials(identities.harness)),
            moto_bridge.enforce_iam(iam.resource_arns, self.ledger.record),
            moto_bridge.route_state_machine_calls(
                lambda: Credentials(str(machine.access_key), str(machine.secret_key), machine.token)
            ),
        ]
        self.host.sign_with(identities.functions)
        self._moto.enforce_iam()

    def _export_function_environment(self) -> None:
        """Functions share this process, so their variables are merged; they must agree where they overlap."""
        assert self.stack is not None
        merged: dict[str, str] = {}
        for function in self.stack.functions:
            for key, value in function.environment.items():
                text = str(value)
                if merged.get(key, text) != text:
                    raise RuntimeError(f"functions disagree on {key}: {merged[key]!r} vs {text!r}")
                merged[key] = text
        merged.update(self.extra_environment)
        os.environ.update(merged)
        from agent_tasks.aws import reset_clients
        from agent_tasks.settings import get_settings

        get_settings.cache_clear()
        reset_clients()

    def token(self, user: str, **kwargs: Any) -> str:
        assert self.issuer is not None, "start() first"
        return self.issuer.mint(user, **kwargs)

    def time_out_waits(self, execution_id: str) -> int:
        """End the execution's workflow waits (an approval's `.waitForTaskToken` state) as their
        TimeoutSeconds would, now: the local clock for waits that last at least a minute."""
        return moto_bridge.time_out_task_waits(execution_id)

    def stop(self) -> None:
        if self.rules is not None:
            self.rules.stop()
        if self.queues is not None:
            self.queues.stop()
        if self._api_server is not None:
            self._api_server.shutdown()
            self._api_server.server_close()
        if self._restore_lambda is not None:
            self._restore_lambda()
        while self._restores:
            self._restores.pop()()
        if self._moto is not None:
            self._moto.stop()

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
