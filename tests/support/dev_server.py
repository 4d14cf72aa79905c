"""The dev server (`agent-tasks dev`) as a subprocess, for end-to-end tests over HTTP."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.aws_stack import open_stack, requested_stack
from tests.support.fixtures import free_port
from tests.support.template import PROJECT_ROOT

READY_LINE = "Ctrl-C stops everything."
START_TIMEOUT_SECONDS = 120


@dataclass
class DevServer:
    process: subprocess.Popen[str]
    base_url: str
    state_dir: Path
    output: list[str] = field(default_factory=list)

    def token(self, user: str, *extra: str) -> str:
        """A token from the `agent-tasks token` command, as a user would get one (its last line)."""
        result = subprocess.run(
            [str(Path(sys.executable).parent / "agent-tasks"), "token", user, *extra],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "AGENT_TASKS_LOCAL_DIR": str(self.state_dir)},
        )
        return result.stdout.strip().splitlines()[-1]

    def client(self, user: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


def start_dev_server(state_dir: Path, extra_env: dict[str, str] | None = None) -> DevServer:
    port = free_port()
    env = {
        **os.environ,
        "AGENT_TASKS_LOCAL_DIR": str(state_dir),
        "MODEL_PROVIDER": "scripted",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "agent-tasks"), "dev", "--port", str(port), "--no-rules"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = DevServer(process, f"http://127.0.0.1:{port}", state_dir)
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        try:
            line = lines.get(timeout=START_TIMEOUT_SECONDS)
        except queue.Empty:
            process.kill()
            raise RuntimeError("dev server did not start:\n" + "".join(server.output)) from None
        if line is None:
            raise RuntimeError("dev server exited:\n" + "".join(server.output))
        if READY_LINE in line:
            return server


def stop_dev_server(server: DevServer) -> int:
    server.process.send_signal(signal.SIGINT)
    try:
        return server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # Say how far the stop got (its "stopping..." line, the last lines it printed), then end it.
        server.process.kill()
        tail = "".join(server.output[-20:])
        message = f"the dev server did not stop within 30 s of Ctrl-C; it printed:\n{tail}"
        raise AssertionError(message) from None


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The dev server (`make e2e`), or a deployed stack (`make e2e-aws STACK=<name>`)."""
    stack_name = requested_stack()
    if stack_name is not None:
        stack = open_stack(stack_name)
        try:
            yield stack
        finally:
            stack.close()
        return
    server = start_dev_server(tmp_path_factory.mktemp("dev-server"))
    try:
        yield server
    finally:
        if server.process.poll() is None:
            stop_dev_server(server)
