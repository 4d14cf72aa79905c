"""Cold import of each function module (functions/*/app.py) in fresh processes, and whether it
pulled in `anthropic` (the API and scheduler functions must not).

Children start bare (no moto), so each figure includes boto3, Powertools, pydantic and our own
modules. The `.pyc` files are written by a discarded first run; one more variant imports the API
function with an empty bytecode cache, as Lambda does when compiled files are not shipped.

Run one child by hand: .venv/bin/python -m tests.bench.bench_imports --out /tmp/i.json api
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

from tests.bench import bench_env

MUST_NOT_IMPORT_ANTHROPIC = ("api", "scheduler")


def function_names() -> list[str]:
    root = bench_env.PROJECT_ROOT / "functions"
    return sorted(p.parent.name for p in root.glob("*/app.py"))


def _child(name: str) -> dict[str, Any]:
    bench_env.apply_environment()
    from agent_tasks_local.lambdas import load_function_module  # stdlib only

    before = len(sys.modules)
    watch = bench_env.Stopwatch()
    load_function_module(bench_env.PROJECT_ROOT / "functions" / name, "app", f"bench_lambda_{name}")
    timings: dict[str, float] = {}
    watch.record(timings, "import")
    return {
        **timings,
        "modules_imported": len(sys.modules) - before,
        "anthropic_imported": "anthropic" in sys.modules,
    }


def _one(name: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    try:
        result: dict[str, Any] = bench_env.run_child(__name__, name, timeout=120, env=env)
    except RuntimeError as error:  # a function mid-change elsewhere should not sink the whole bench
        return {"error": str(error).strip().splitlines()[-1]}
    return result


def run(processes: int = 5, uncompiled_processes: int = 3) -> dict[str, Any]:
    names = function_names()
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for name in names:
        _one(name)  # warm-up: writes the .pyc files
    for _ in range(processes):
        for name in names:
            samples[name].append(_one(name))
    uncompiled: list[dict[str, Any]] = []
    for _ in range(uncompiled_processes):
        with tempfile.TemporaryDirectory() as empty_cache:
            env = bench_env.child_environment(
                {"PYTHONPYCACHEPREFIX": empty_cache, "PYTHONDONTWRITEBYTECODE": "1"}
            )
            uncompiled.append(_one("api", env))
    samples["api (no .pyc)"] = uncompiled
    result: dict[str, Any] = {"processes": processes}
    for name, runs in samples.items():
        errors = [r["error"] for r in runs if "error" in r]
        good = [r for r in runs if "error" not in r]
        if not good:
            result[name] = {"error": errors[0]}
            continue
        result[name] = {
            "import_ms": bench_env.summary_ms([r["import_ms"] for r in good]),
            "import_wall_ms": bench_env.summary_ms([r["import_wall_ms"] for r in good]),
            "modules_imported": max(r["modules_imported"] for r in good),
            "anthropic_imported": any(r["anthropic_imported"] for r in good),
            "runs": len(good),
        }
        if name.split(" ")[0] in MUST_NOT_IMPORT_ANTHROPIC:
            result[name]["must_not_import_anthropic"] = True
    return result


if __name__ == "__main__":
    (function,) = bench_env.child_args(sys.argv[1:])
    bench_env.write_result(sys.argv, _child(function))
