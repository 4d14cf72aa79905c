"""Schemathesis against the running dev server's own OpenAPI document, with every check: a promise
the document makes and the API does not keep fails the build.

A check is left out only with its reason beside it (EXCLUDED_CHECKS).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.aws_stack import local_only
from tests.support.dev_server import DevServer

pytestmark = pytest.mark.e2e

MIN_CASES = 300
SEED = "20261125"
MAX_EXAMPLES = "10"  # per operation and phase: bounds the run (the API has 40-odd operations now)

EXCLUDED_CHECKS = {
    # Rules JSON Schema cannot say, so a schema-valid request may still be refused, by design:
    # cursors are opaque tokens the API issued (a made-up one is 400); a cron expression must
    # parse and fire, a template must parse, a report needs a format, MCP server names must be
    # unique, a name must be free (409), an id must exist (404). Everything JSON Schema can say
    # (types, lengths, patterns, enums, nullability) is checked the other way, by
    # negative_data_rejection and the schema checks, which stay on.
    "positive_data_acceptance": "semantic rules beyond JSON Schema (see the comment above)",
    # A task's executions (and reports) stay readable after the task is deleted, by design: a soft
    # delete keeps history, and DELETE /tasks/{id} followed by GET /tasks/{id}/executions is 200.
    "use_after_free": "executions of a deleted task stay readable by design",
}


@local_only  # hundreds of generated requests: not against a deployed stack
def test_every_operation_keeps_the_documents_promises(dev_server: DevServer, tmp_path: Path) -> None:
    # Given the dev server and its published schema
    report = tmp_path / "schemathesis.json"
    token = dev_server.token("contract-user")
    # When schemathesis generates requests for every operation, with every check but the excluded
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{dev_server.base_url}/api/v1/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(EXCLUDED_CHECKS),
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
            "--generation-database",
            "none",  # the same cases on every machine: nothing remembered from earlier runs
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=480,
        check=False,
    )
    # Then nothing failed, and enough cases ran
    assert result.returncode == 0, result.stdout[-8000:]
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated, result.stdout[-2000:]
    assert int(generated.group(1)) >= MIN_CASES, result.stdout[-2000:]
    assert json.loads(report.read_text()) is not None
