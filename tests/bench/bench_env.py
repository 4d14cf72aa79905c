"""What every bench process shares: fake AWS credentials, Powertools settings, child processes, events.

Only the standard library is imported here, so a fresh process that imports this module has
not yet paid for anything being measured.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
API_DIR = PROJECT_ROOT / "functions" / "api"
REGION = "us-east-1"
USER = "bench-user"

# As in tests/conftest.py: nothing may reach a real AWS account or the network.
ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "AgentTasks",
    "POWERTOOLS_SERVICE_NAME": "agent-tasks",
    "POWERTOOLS_DEV": "false",
    "TABLE_NAME": "agent-tasks-bench",
    "BUCKET_NAME": "agent-tasks-artifacts-bench",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:agent-tasks-bench",
    "EVENT_BUS_NAME": "default",
}
_REMOVED = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "ANTHROPIC_API_KEY")


def freeze_bench_heap() -> None:
    """Keep the collector off what the bench holds (moto's backends and parser, the local loader).

    In Lambda the process holds little but the runtime and the function, so a collection walks
    only the function's objects. Here moto's heap is far larger than the function's, and every
    full collection during a timed part would walk it, a cost of the bench and not of the code
    measured. Call it after the bench's own setup and before anything measured is imported.
    """
    gc.collect()
    gc.freeze()


def apply_environment() -> None:
    for name in _REMOVED:
        os.environ.pop(name, None)
    os.environ.update(ENVIRONMENT)


def child_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REMOVED}
    env.update(ENVIRONMENT)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_child(
    module: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None, stdin: str = ""
) -> Any:
    """Run `python -m module --out FILE args...` in a fresh process and return the JSON it wrote.

    Results travel through a file because the functions print their logs and metrics on stdout.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        completed = subprocess.run(
            [sys.executable, "-m", module, "--out", str(out), *args],
            cwd=PROJECT_ROOT,
            env=env or child_environment(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0 or not out.exists():
            raise RuntimeError(
                f"{module} {' '.join(args)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
            )
        return json.loads(out.read_text())


def write_result(argv: Sequence[str], result: Any) -> None:
    """The child side of `run_child`: argv is `--out FILE ...`."""
    Path(argv[argv.index("--out") + 1]).write_text(json.dumps(result))


def child_args(argv: Sequence[str]) -> list[str]:
    args = list(argv)
    at = args.index("--out")
    del args[at : at + 2]
    return args


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(samples), 1),
        "min": round(min(samples), 1),
        "max": round(max(samples), 1),
    }


class Stopwatch:
    """CPU and wall time since it was made, in ms.

    The figures use the process's CPU time: this machine is shared, and other people's test runs
    stretched wall times by up to 2x while leaving CPU time nearly alone. Wall time is kept beside it.
    """

    def __init__(self) -> None:
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def record(self, timings: dict[str, float], key: str) -> None:
        timings[f"{key}_ms"] = (time.process_time() - self._cpu) * 1000
        timings[f"{key}_wall_ms"] = (time.perf_counter() - self._wall) * 1000


class Context:
    """A minimal Lambda context."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def task_event(
    method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None, **kwargs: Any
) -> dict[str, Any]:
    """A payload-2.0 event for the tasks routes, shaped as tests/support/api_calls.py `Api.call` does."""
    from tests.support.events import http_api_event

    parts = path.split("/")
    route = path
    if len(parts) >= 5 and parts[3] == "tasks":
        route = "/".join([*parts[:4], "{task_id}", *parts[5:]])
        kwargs.setdefault("path_parameters", {"task_id": parts[4]})
    return http_api_event(method, path, user=USER, body=body, query=query, route=route, **kwargs)


class MotoClock:
    """CPU ms spent inside moto's request handler, which runs in-process and is not our code."""

    cpu_ms = 0.0

    @classmethod
    def install(cls) -> None:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__

        def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return original(self, *args, **kwargs)
            finally:
                cls.cpu_ms += (time.process_time() - started) * 1000

        BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
