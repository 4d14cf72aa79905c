"""Backfill the task indexes (lists, counts, model uses) for tasks stored before they existed.

    TABLE_NAME=<the stack's table> python scripts/backfill_task_index.py --state backfill.json

Run it once after deploying the version that adds them (README, "Upgrading"). It is idempotent
(run it again: the same items are written) and resumable (the state file says where it stopped;
run the same command again to go on). The work is in `agent_tasks.store.task_index_backfill`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agent_tasks.store.task_index_backfill import BackfillState, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--state", type=Path, required=True, help="file keeping where the run is")
    parser.add_argument("--page-size", type=int, default=100, help="task items read per Scan page")
    arguments = parser.parse_args(argv)
    path: Path = arguments.state
    state = BackfillState.from_json(json.loads(path.read_text())) if path.exists() else None

    def save(current: BackfillState) -> None:
        path.write_text(json.dumps(current.to_json()))

    final = run(state, save=save, page_size=arguments.page_size)
    print(
        f"done: {final.tasks_written} tasks indexed, {final.tasks_changed_meanwhile} changed meanwhile "
        f"(already indexed), {len(final.counted)} owners counted"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
