from __future__ import annotations

import pytest

from tests.support.dev_server import dev_server

__all__ = ["dev_server"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `-n 2 --dist loadgroup` each worker takes one group, so each dev server is started once:
    the command line's tests share test_cli.py's server, the others the session's."""
    for item in items:
        if item.path.parent.name != "e2e":
            continue
        group = "cli" if item.path.name == "test_cli.py" else "dev-server"
        item.add_marker(pytest.mark.xdist_group(group))
