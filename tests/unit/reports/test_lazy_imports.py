"""The API validates notification configs and may list report formats: that must not load fpdf2 or httpx2."""

from __future__ import annotations

import subprocess
import sys


def test_config_and_dispatch_modules_load_no_heavy_libraries() -> None:
    code = (
        "import sys, agent_tasks.models.notifications, agent_tasks.notify, agent_tasks.notify.slack,"
        " agent_tasks.reports.render, agent_tasks.reports.document;"
        "print(sorted(m for m in ('fpdf', 'httpx2', 'jinja2', 'anthropic') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
