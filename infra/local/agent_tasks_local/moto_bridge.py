"""Every reliance on moto's internals, in one place.

moto's Lambda runs functions in Docker; we have none, so invocations are routed to our
handlers in-process by replacing `LambdaFunction._invoke_lambda`. Step Functions in moto
(server mode) calls Lambda over HTTP on `MOTO_PORT`, which lands here too. moto's version is
pinned in requirements/dev.lock, and tests/unit/local/test_moto_bridge.py fails loudly if
the internals used here move.
"""

from __future__ import annotations

import inspect
import json
import urllib.request
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.server import ThreadedMotoServer

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


def start_server(host: str, port: int) -> ThreadedMotoServer:
    """moto in server mode on loopback (public API), in a thread of this process."""
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    return server


def bound_port(server: ThreadedMotoServer) -> int:
    """The port the server listens on (when started on port 0)."""
    return int(server.get_host_and_port()[1])


def enable_state_machine_execution(endpoint: str) -> None:
    """Switch on moto's ASL interpreter through its documented configuration endpoint."""
    body = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback moto endpoint
        f"{endpoint}/moto-api/config", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()
