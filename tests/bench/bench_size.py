"""Deployment package sizes: the core layer's source, its requirements installed as Lambda would
get them, and each function's directory. Apparent sizes (bytes of files), `__pycache__` left out
of source figures.

Run by hand: .venv/bin/python -m tests.bench.bench_size
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import bench_env

LAYER = bench_env.PROJECT_ROOT / "layers" / "core"
INSTALL_TIMEOUT_SECONDS = 60
# What the Lambda Python runtime already provides, so a layer need not ship it (it may anyway).
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py", "bin"}
MIB = 1024 * 1024


def tree_bytes(root: Path, *, skip_pycache: bool = True) -> int:
    total = 0
    for directory, subdirs, files in os.walk(root):
        if skip_pycache:
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
        total += sum((Path(directory) / name).stat().st_size for name in files)
    return total


def _installed(target: Path) -> dict[str, Any]:
    by_entry: dict[str, int] = {}
    for entry in target.iterdir():
        name = "(metadata)" if entry.name.endswith(".dist-info") else entry.name
        size = tree_bytes(entry, skip_pycache=False) if entry.is_dir() else entry.stat().st_size
        by_entry[name] = by_entry.get(name, 0) + size
    total = sum(by_entry.values())
    runtime = sum(size for name, size in by_entry.items() if name in RUNTIME_PROVIDED)
    largest = sorted(by_entry.items(), key=lambda kv: kv[1], reverse=True)[:8]
    return {
        "requirements_mib": round(total / MIB, 1),
        "requirements_without_runtime_provided_mib": round((total - runtime) / MIB, 1),
        "largest_mib": {name: round(size / MIB, 1) for name, size in largest},
    }


def _install_requirements() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "python"
        started = time.perf_counter()
        try:
            completed = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-compile",
                    "--disable-pip-version-check",
                    "--target",
                    str(target),
                    "-r",
                    str(LAYER / "requirements.txt"),
                ],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return {"skipped": f"pip install took over {INSTALL_TIMEOUT_SECONDS} s"}
        if completed.returncode != 0:
            return {"skipped": "pip install failed: " + completed.stderr.strip().splitlines()[-1]}
        return {**_installed(target), "install_seconds": round(time.perf_counter() - started, 1)}


def run() -> dict[str, Any]:
    functions = bench_env.PROJECT_ROOT / "functions"
    return {
        "layer_source_kib": round(tree_bytes(LAYER / "agent_tasks") / 1024, 1),
        "layer_installed": _install_requirements(),
        "functions_kib": {
            path.name: round(tree_bytes(path) / 1024, 1)
            for path in sorted(functions.iterdir())
            if path.is_dir()
        },
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
