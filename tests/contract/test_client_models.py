"""The Python client follows the API: its models are generated from the OpenAPI document, every
documented route has a client method, and the package needs nothing but its HTTP libraries."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import agent_tasks_client
from agent_tasks_client import models
from agent_tasks_client.client import ROUTE_METHODS, AgentTasks
from tests.support.fixtures import load_function
from tests.support.template import PROJECT_ROOT

CLIENT_ROOT = PROJECT_ROOT / "clients" / "python"


def _document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(load_function("api")._openapi_document())
    return document


def _codegen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("client_codegen", CLIENT_ROOT / "codegen.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_client_models_are_what_the_openapi_document_generates() -> None:
    # Given the models generated now from the document the API function builds
    source = _codegen().generate(_document())
    formatted = subprocess.run(
        [str(Path(sys.executable).parent / "ruff"), "format", "--stdin-filename", "models.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    ).stdout
    # Then the committed models are the same (else: make client-models)
    committed = (CLIENT_ROOT / "agent_tasks_client" / "models.py").read_text()
    assert committed == formatted, "the client's models drifted from the API: run `make client-models`"


def test_every_documented_route_has_a_client_method() -> None:
    documented = set(_document()["paths"])
    assert set(models.ROUTES) == documented
    missing = documented - set(ROUTE_METHODS)
    assert not missing, f"routes without a client method: {sorted(missing)}"
    for path, methods in ROUTE_METHODS.items():
        assert path in documented, f"{path} is not a documented route"
        for name in methods:
            assert callable(getattr(AgentTasks, name, None)), name


def test_the_client_package_depends_on_its_http_libraries_only() -> None:
    project = tomllib.loads((CLIENT_ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == ["httpx2>=2.16", "tenacity>=9"]
    assert agent_tasks_client.__file__ is not None
    assert Path(agent_tasks_client.__file__).is_relative_to(CLIENT_ROOT)
    # Importing the client and its command line loads nothing of the service or the local cloud
    probe = (
        "import sys, agent_tasks_client, agent_tasks_client.cli; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'agent_tasks', 'agent_tasks_local', 'pydantic', 'boto3', 'botocore', 'moto', 'anthropic'}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
