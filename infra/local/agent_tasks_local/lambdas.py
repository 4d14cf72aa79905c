"""Our Lambda handlers, loaded from the paths the template names and invoked in-process."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.credentials import ReadOnlyCredentials

from agent_tasks_local import limits
from agent_tasks_local.iam import Session, acting_as

Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class LocalFunction:
    """One AWS::Serverless::Function of the template, as deployed into moto."""

    logical_id: str
    physical_name: str
    code_dir: Path
    handler: str  # "module.function", as in the template
    timeout_seconds: int
    memory_mb: int
    environment: dict[str, str] = field(default_factory=dict)


class LambdaContext:
    """What Lambda passes as `context`: names, request id and the time left."""

    def __init__(self, function: LocalFunction, region: str, account: str, timeout_seconds: float) -> None:
        self.function_name = function.physical_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{function.physical_name}"
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.physical_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionHost:
    """Loads each function's module once (a warm container) and runs invocations in the caller's thread."""

    def __init__(self, region: str, account: str) -> None:
        self._region = region
        self._account = account
        self._functions: dict[str, LocalFunction] = {}
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._credentials: dict[str, ReadOnlyCredentials] = {}
        self.invocations: list[tuple[str, float]] = []  # (logical id, seconds), for tests and benchmarks

    def register(self, function: LocalFunction) -> None:
        self._functions[function.physical_name] = function

    def timeout_of(self, function: LocalFunction, event: Any) -> float:
        """The function's Timeout from the template (tests replace this to make one small)."""
        return float(function.timeout_seconds)

    def sign_with(self, credentials: dict[str, ReadOnlyCredentials]) -> None:
        """From now on each function's AWS calls are signed with its own role's session (by physical name)."""
        self._credentials = dict(credentials)

    def credentials_of(self, physical_name: str) -> ReadOnlyCredentials | None:
        """The role session the function's AWS calls are signed with (None: not signing per function)."""
        return self._credentials.get(physical_name)

    def by_arn(self, arn: str) -> LocalFunction:
        name = arn.split(":function:", 1)[-1].split(":", 1)[0]
        if name not in self._functions:
            raise KeyError(f"no function {arn!r} in the stack")
        return self._functions[name]

    def by_logical_id(self, logical_id: str) -> LocalFunction:
        for function in self._functions.values():
            if function.logical_id == logical_id:
                return function
        raise KeyError(f"no function {logical_id!r} in the stack")

    def _handler(self, function: LocalFunction) -> Handler:
        with self._lock:
            if function.physical_name not in self._handlers:
                self._handlers[function.physical_name] = _load_handler(function)
            return self._handlers[function.physical_name]

    def invoke(self, physical_name: str, event: Any) -> tuple[str, bool, str]:
        """Run one invocation; answers as Lambda does: (payload, errored, log text)."""
        function = self._functions.get(physical_name)
        if function is None:
            error = {"errorType": "ResourceNotFoundException", "errorMessage": f"no function {physical_name}"}
            return json.dumps(error), True, ""
        if limits.over(limits.LAMBDA_SYNC_PAYLOAD, event):
            return _error("RequestEntityTooLargeException", _too_large("request", event)), True, ""
        if isinstance(event, str | bytes):
            event = json.loads(event or "{}")
        timeout = self.timeout_of(function, event)
        context = LambdaContext(function, self._region, self._account, timeout)
        session = Session(self._credentials.get(physical_name))
        outcome: dict[str, Any] = {}
        started = time.perf_counter()

        def run() -> None:
            with acting_as(session):
                try:
                    outcome["result"] = self._handler(function)(event, context)
                except Exception as exc:  # noqa: BLE001 - a handler's failure is the invocation's error payload
                    outcome["error"] = exc

        worker = threading.Thread(target=run, daemon=True, name=f"lambda-{function.logical_id}")
        worker.start()
        worker.join(timeout)
        self.invocations.append((function.logical_id, time.perf_counter() - started))
        if worker.is_alive():
            # Lambda stops the function here; this thread can't be stopped, so its session is revoked.
            session.revoked = True
            message = f"RequestId: {context.aws_request_id} Error: Task timed out after {timeout:.2f} seconds"
            return _error(limits.LAMBDA_TIMEOUT_ERROR, message), True, message
        if "error" in outcome:
            exc = outcome["error"]
            trace = traceback.format_exception(exc)
            payload = {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": trace}
            return json.dumps(payload), True, "".join(trace)
        answer = json.dumps(outcome.get("result"), default=str)
        if limits.over(limits.LAMBDA_SYNC_PAYLOAD, answer):
            return _error("Function.ResponseSizeTooLarge", _too_large("response", answer)), True, ""
        return answer, False, ""


def _error(error_type: str, message: str) -> str:
    return json.dumps({"errorType": error_type, "errorMessage": message})


def _too_large(what: str, payload: Any) -> str:
    limit = limits.LAMBDA_SYNC_PAYLOAD
    size = limits.size_of(payload)
    return f"The {what} payload ({size} bytes) exceeds {int(limit.value)} bytes ({limit.source})"


def load_function_module(code_dir: Path, module_name: str, unique_name: str) -> ModuleType:
    """Import a function's module from its code directory, as Lambda would with that directory as root.

    Every function's entry module is called `app`, so each is registered under a unique name;
    helper packages inside a function directory must have names unique across functions.
    """
    if unique_name in sys.modules:
        return sys.modules[unique_name]
    path = code_dir / f"{module_name.replace('.', '/')}.py"
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    spec = importlib.util.spec_from_file_location(unique_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique_name] = module
    spec.loader.exec_module(module)
    return module


def _load_handler(function: LocalFunction) -> Handler:
    module_name, _, attribute = function.handler.rpartition(".")
    module = load_function_module(function.code_dir, module_name, f"local_lambda_{function.logical_id}")
    handler: Handler = getattr(module, attribute)
    return handler
