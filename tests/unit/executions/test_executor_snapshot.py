"""The executor registers its SnapStart hook where Lambda's runtime offers one, and the hook
takes the model SDK's import into the snapshot."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from collections.abc import Callable

import pytest

from tests.support.fixtures import load_function


def test_on_a_runtime_with_snapshot_hooks_the_executor_registers_the_sdk_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a runtime that offers SnapStart's hook registry (as Lambda's managed Python runtimes do)
    registered: list[Callable[[], None]] = []
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    # When the executor function is loaded
    load_function("executor")
    # Then it registered the hook that imports the model SDK
    assert [hook.__qualname__ for hook in registered] == ["before_snapshot"]


def test_the_hook_imports_the_model_sdk() -> None:
    # Given a fresh interpreter without anthropic
    script = textwrap.dedent(
        """
        import sys
        from agent_tasks.agent import snapshot
        assert "anthropic" not in sys.modules
        snapshot.before_snapshot()
        assert "anthropic.resources.messages" in sys.modules
        """
    )
    # When the hook runs
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    # Then the SDK is imported (into what the snapshot would hold)
    assert done.returncode == 0, done.stderr
