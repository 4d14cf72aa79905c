"""Importing the agent engine must not import `anthropic` (it costs most of a second)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_loop_does_not_import_anthropic() -> None:
    code = (
        "import sys\n"
        "import agent_tasks.agent, agent_tasks.agent.loop, agent_tasks.agent.catalog\n"
        "import agent_tasks.agent.tools, agent_tasks.agent.pricing, agent_tasks.agent.providers\n"
        "import agent_tasks.netguard\n"
        "print('anthropic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "False"
