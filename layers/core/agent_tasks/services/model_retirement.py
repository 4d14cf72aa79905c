"""The daily retiring-model check: tasks whose model (or fallback) retires within 30 days, or has.

The scheduler runs it on its first tick of each UTC day (a conditional write decides which tick).
Each such task gets a `task.model_retiring` audit event and a `ModelRetiring` event on the bus;
its answer carries the warning whenever it is read (models/tasks.py `model_warnings`). An
execution whose model has retired fails at Prepare (services/workflow/preparing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent_tasks.agent import model_catalog
from agent_tasks.agent.model_ids import base_model_id
from agent_tasks.models.notifications import MODEL_RETIRING
from agent_tasks.models.tasks import Task
from agent_tasks.observability import logger
from agent_tasks.services.bus_events import put_task_event
from agent_tasks.services.schedule_pause import SCHEDULER_ACTOR
from agent_tasks.store import audit as audit_store
from agent_tasks.store import model_catalog as catalog_store
from agent_tasks.store import tasks as task_store
from agent_tasks.store.dynamo import transact


@dataclass
class RetiringSummary:
    models: list[str]
    tasks: int = 0
    events_failed: int = 0


def check_retiring_models(now: datetime) -> RetiringSummary | None:
    """Run the check once per UTC day; None when another tick already ran it today."""
    if not catalog_store.claim_daily_check(now.date().isoformat(), now):
        return None
    catalogue = model_catalog.current()
    horizon = (now + model_catalog.RETIRING_WITHIN).date()
    retiring = {
        entry.id: entry
        for entry in catalogue.models
        if entry.lifecycle == "retired" or (entry.retires_at is not None and entry.retires_at <= horizon)
    }
    summary = RetiringSummary(models=sorted(retiring))
    for task in task_store.live_tasks_using(set(retiring)):
        used = [task.sdk_options.model, task.sdk_options.fallback_model]
        for model in dict.fromkeys(base_model_id(m) for m in used if m):
            entry = retiring.get(model)
            if entry is not None:
                summary.tasks += 1
                if not _announce(task, entry, catalogue, now):
                    summary.events_failed += 1
    logger.info("retiring-model check", extra={"models": summary.models, "tasks": summary.tasks})
    return summary


def _announce(
    task: Task, entry: model_catalog.ModelEntry, catalogue: model_catalog.ModelCatalogue, now: datetime
) -> bool:
    replacement = catalogue.replacement_for(entry)
    detail = {
        "task_id": task.id,
        "owner_id": task.owner_id,
        "task_name": task.name,
        "model": entry.id,
        "lifecycle": entry.lifecycle,
        "retires_at": entry.retires_at.isoformat() if entry.retires_at else None,
        "replacement": replacement.id if replacement else None,
        "warning": model_catalog.lifecycle_warnings([entry.id], catalogue, now)[0],
        "checked_at": now.isoformat(),
    }
    audit = audit_store.new_event(
        actor_id=SCHEDULER_ACTOR,
        owner_id=task.owner_id,
        action="task.model_retiring",
        resource_type="task",
        resource_id=task.id,
        at=now,
        request_id=None,
        details={k: v for k, v in detail.items() if k not in ("task_id", "owner_id", "task_name")},
    )
    transact([audit_store.put_audit_item(audit)])
    return put_task_event(MODEL_RETIRING, detail)
