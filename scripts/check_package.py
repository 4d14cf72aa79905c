"""Checks `sam build`'s artifacts for what Lambda would refuse or regret (run by `make package`).

- each function with its layers is under Lambda's 250 MB unzipped limit
  (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
- every handler imports from the built artifacts alone: a fresh, isolated interpreter with only
  the function's directory, the layer and what the runtime itself provides (boto3) on its path;
- the layer ships compiled bytecode for every module (Lambda's code directory is read-only);
- no development or test dependency is in the layer.

The layer is built for arm64; on another machine its native extensions cannot load, so the
import check runs against a copy of the layer built the same way for this machine
(layers/core/Makefile with PLATFORM set), and says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from agent_tasks_local.deploy import load_template

ROOT = Path(__file__).resolve().parents[1]
UNZIPPED_LIMIT_BYTES = 262_144_000  # 250 MB, function and layers together
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ["boto3"]
IMPORT_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "agent-tasks-package-check",
    "TABLE_NAME": "package-check",
    "BUCKET_NAME": "package-check",
    "EVENT_BUS_NAME": "package-check",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:package-check",
    "ENVIRONMENT": "check",
}


def _name(requirement: str) -> str:
    return re.split(r"[\[=<>~!; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_name(line) for line in lines if line.strip() and not line.lstrip().startswith(("#", "-"))}


def _size(directory: Path) -> int:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file() and not f.is_symlink())


def _functions() -> dict[str, str]:
    """Logical id -> handler of each function in the template."""
    template = load_template(ROOT / "template.yaml")
    return {
        logical_id: str(resource["Properties"]["Handler"])
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def check_sizes(build: Path, functions: dict[str, str], layer: Path) -> list[str]:
    problems = []
    layer_bytes = _size(layer)
    for logical_id in functions:
        total = _size(build / logical_id) + layer_bytes
        limit = UNZIPPED_LIMIT_BYTES / 1e6
        print(f"  {logical_id}: {total / 1e6:.1f} MB unzipped with its layer (limit {limit:.1f})")
        if total >= UNZIPPED_LIMIT_BYTES:
            problems.append(
                f"{logical_id} is {total} bytes unzipped with its layer: Lambda refuses >= 250 MB"
            )
    return problems


def check_bytecode(layer: Path) -> list[str]:
    sources = [p for p in (layer / "python").rglob("*.py") if "__pycache__" not in p.parts]
    missing = [p for p in sources if not list((p.parent / "__pycache__").glob(f"{p.stem}.cpython-313*.pyc"))]
    print(f"  layer: {len(sources)} modules, {len(sources) - len(missing)} with .pyc")
    return [f"{len(missing)} layer modules without .pyc, e.g. {missing[0]}"] if missing else []


def check_no_dev_dependencies(layer: Path) -> list[str]:
    dev_only = _requirements(ROOT / "requirements" / "dev.in") - _requirements(
        ROOT / "layers" / "core" / "requirements.txt"
    )
    shipped = {_name(d.name.split("-")[0]) for d in (layer / "python").glob("*.dist-info")}
    found = sorted(shipped & dev_only)
    print(f"  layer: {len(shipped)} distributions; development-only ones: {found or 'none'}")
    return [f"development dependencies in the layer: {', '.join(found)}"] if found else []


def _host_layer(python: str, scratch: Path) -> Path:
    """The layer as layers/core/Makefile builds it, for this machine's architecture."""
    machine = platform.machine()
    wheels = {"x86_64": "manylinux2014_x86_64", "aarch64": "manylinux2014_aarch64"}[machine]
    subprocess.run(  # noqa: S603 - our own Makefile, with arguments made here
        [  # noqa: S607 - make from PATH, as `sam build` runs it
            "make",
            "--no-print-directory",
            "-C",
            str(ROOT / "layers" / "core"),
            "build-CoreLayer",
            f"ARTIFACTS_DIR={scratch / 'layer'}",
            f"PYTHON={python}",
            f"PLATFORM={wheels}",
        ],
        check=True,
    )
    return scratch / "layer"


def check_imports(build: Path, functions: dict[str, str], layer: Path, python: str) -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory(prefix="package-check-") as scratch_dir:
        scratch = Path(scratch_dir)
        if platform.machine() not in ("aarch64", "arm64"):
            print(f"  this machine is {platform.machine()}: importing against the layer built alike for it")
            layer = _host_layer(python, scratch)
        runtime = scratch / "runtime"
        subprocess.run(  # noqa: S603 - the interpreter find-python chose
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--root-user-action=ignore",
                "--target",
                str(runtime),
                *RUNTIME_PACKAGES,
            ],
            check=True,
        )
        for logical_id, handler in functions.items():
            module, _, attribute = handler.rpartition(".")
            paths = [str(build / logical_id), str(layer / "python"), str(runtime)]
            probe = (
                "import importlib, sys; sys.path[:0] = sys.argv[1:]; "
                f"handler = getattr(importlib.import_module({module!r}), {attribute!r}); "
                "assert callable(handler)"
            )
            result = subprocess.run(  # noqa: S603 - the interpreter find-python chose
                [python, "-I", "-S", "-c", probe, *paths],
                capture_output=True,
                text=True,
                env={"PATH": os.environ.get("PATH", ""), **IMPORT_ENVIRONMENT},
                check=False,
            )
            print(f"  {logical_id}: {handler} {'imports' if result.returncode == 0 else 'does NOT import'}")
            if result.returncode != 0:
                problems.append(f"{logical_id}: {handler} does not import:\n{result.stderr.strip()[-2000:]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=ROOT / ".aws-sam" / "build")
    parser.add_argument("--python", required=True, help="a CPython 3.13 (Lambda's runtime)")
    arguments = parser.parse_args()
    build: Path = arguments.build_dir
    functions = _functions()
    layer = build / "CoreLayer"
    problems: list[str] = []
    print("sizes:")
    problems += check_sizes(build, functions, layer)
    print("bytecode:")
    problems += check_bytecode(layer)
    print("dependencies:")
    problems += check_no_dev_dependencies(layer)
    print("handlers:")
    problems += check_imports(build, functions, layer, arguments.python)
    for problem in problems:
        print(f"PACKAGE CHECK FAILED: {problem}", file=sys.stderr)
    print("package check:", "FAILED" if problems else "passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
