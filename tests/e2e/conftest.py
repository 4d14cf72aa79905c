from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.aws_stack import open_stack, requested_stack
from tests.support.dev_server import start_dev_server, stop_dev_server


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
