"""Every reliance on moto's internals, in one place.

moto's Lambda runs functions in Docker; we have none, so invocations are routed to our
handlers in-process by replacing `LambdaFunction._invoke_lambda`. Step Functions in moto
(server mode) calls Lambda over HTTP on `MOTO_PORT`, which lands here too. moto's version is
pinned in requirements/dev.lock, and tests/unit/local/test_moto_bridge.py fails loudly if
the internals used here move. The internals: `LambdaFunction._invoke_lambda`, and the WSGI
app moto's own ThreadedMotoServer serves (`moto.moto_server.werkzeug_app`), which we serve with
DynamoDB requests made atomic.
"""

from __future__ import annotations

import inspect
import json
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

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


class _AtomicDynamoDB:
    """WSGI middleware: one DynamoDB request at a time.

    DynamoDB applies each request atomically (a transaction above all); moto's server does not
    lock, and two TransactWriteItems at once can both pass their conditions or tear the table.
    Requests still interleave freely *between* one another, which is what concurrency tests need.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class MotoServer:
    """moto in server mode on loopback, in a thread of this process (as moto's ThreadedMotoServer,
    with DynamoDB requests made atomic)."""

    def __init__(self, host: str, port: int) -> None:
        app = _AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server: BaseWSGIServer = make_server(host, port, app, True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto")

    @property
    def port(self) -> int:
        return int(self._server.server_port)

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
