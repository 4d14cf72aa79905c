"""Schemathesis against the running dev server's own OpenAPI document: no 5xx, answers as documented."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support.aws_stack import local_only
from tests.support.dev_server import DevServer

MIN_CASES = 300


@local_only  # hundreds of generated requests: not against a deployed stack
def test_every_operation_survives_generated_requests(dev_server: DevServer, tmp_path: Path) -> None:
    # Given the dev server and its published schema
    report = tmp_path / "schemathesis.json"
    token = dev_server.token("contract-user")
    # When schemathesis generates requests for every operation
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{dev_server.base_url}/api/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
            "--max-examples",
            "25",
            "--seed",
            "20261125",
            "--generation-database",
            "none",  # the same cases on every machine: nothing remembered from earlier runs
            "--phases",
            "examples,coverage,fuzzing",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    # Then nothing failed, and enough cases ran
    assert result.returncode == 0, result.stdout[-6000:]
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated, result.stdout[-2000:]
    assert int(generated.group(1)) >= MIN_CASES, result.stdout[-2000:]
    assert json.loads(report.read_text()) is not None
