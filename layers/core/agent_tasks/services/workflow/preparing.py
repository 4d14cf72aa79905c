"""The Prepare step: mark running, create the session, render the prompt; refuse a run that cannot go."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

from agent_tasks.errors import ConflictError
from agent_tasks.models.common import utc_now
from agent_tasks.models.executions import Session
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.observability import logger
from agent_tasks.services.workflow.errors import AgentRunFailed
from agent_tasks.services.workflow.run_inputs import (
    provider_name,
    require,
    secrets_and_options,
    select_provider,
)
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import sessions as session_store

SESSION_NAMESPACE = uuid.UUID("5f0c6a3e-7d1b-4c1e-9a51-6d2a3b8f0e11")


def _catalogue() -> Any:
    """The model catalogue: refreshed from the Models API when a provider with credentials can list it
    (cached in the table for MODEL_CATALOG_TTL_SECONDS), else the cached copy or the shipped snapshot."""
    from agent_tasks.agent import model_catalog
    from agent_tasks.agent.model_api import ModelCallError

    provider = select_provider()
    list_models = getattr(provider, "list_models", None)
    if list_models is None:
        return model_catalog.current()
    try:
        return model_catalog.refresh(list_models, ttl_seconds=get_settings().model_catalog_ttl_seconds)
    except ModelCallError as error:
        logger.warning("model catalogue not refreshed", extra={"error": error.message})
        return model_catalog.current()


def _check_model_runnable(options: SdkOptions) -> None:
    """Fail at Prepare, before any session exists: a retired model, or a budget the price table
    cannot enforce (the table changed since the task was saved)."""
    from agent_tasks.agent import model_catalog
    from agent_tasks.agent.pricing import price_table

    catalogue = _catalogue()
    entry = catalogue.get(options.model)
    if entry is not None and entry.lifecycle == "retired":
        raise AgentRunFailed(model_catalog.retirement_text(entry, catalogue))
    table = price_table()
    if (
        options.max_budget_usd is not None
        and provider_name() != "scripted"
        and table.entry(options.model) is None
    ):
        raise AgentRunFailed(
            f"max_budget_usd is set but model {options.model!r} has no price in price table "
            f"{table.version}, so the budget could not be enforced; nothing was run"
        )


def prepare(execution_id: str) -> dict[str, Any]:
    """Mark running (only from pending), create the session, render and store the prompt."""
    from agent_tasks.templates import render

    execution = require(execution_id)
    if execution.status == "running" and execution.session_id:
        return {"next": "run"}  # a retried Prepare that already did its work
    if execution.status != "pending":
        return {"next": "stop"}
    # Each secret is checked here, so a missing or unreadable one ends the run before it starts.
    _, options = secrets_and_options(execution)
    _check_model_runnable(options)
    now = utc_now()
    rendered = render(str(execution.task_snapshot["prompt_template"]), execution.prompt_variables)
    provider = provider_name()
    session = Session(
        # Derived from the execution: a Prepare retried after a crash finds its session, never makes two.
        id=str(uuid.uuid5(SESSION_NAMESPACE, execution.id)),
        owner_id=execution.owner_id,
        execution_id=execution.id,
        task_id=execution.task_id,
        name=f"Task: {execution.task_name} ({execution.trigger_type})",
        model=options.model,
        model_options=options.model_dump(mode="json", exclude={"mcp_servers"})
        | {"mcp_servers": [s.name for s in options.mcp_servers]},
        provider=provider,  # type: ignore[arg-type]
        created_at=now,
        updated_at=now,
        expires_at=execution.expires_at,
    )
    with contextlib.suppress(ConflictError):  # created by an earlier attempt of this Prepare
        session_store.create(session)
    updated = execution_store.update(
        execution.id,
        {
            "status": "running",
            "started_at": now.isoformat(),
            "session_id": session.id,
            "rendered_prompt": rendered.text,
            "variables_missing": rendered.variables_missing,
            "deadline_at": (now + timedelta(seconds=options.timeout_seconds)).isoformat(),
            "provider": provider,
            "model": options.model,
        },
        status_in={"pending"},
    )
    if updated is None:
        return {"next": "stop"}  # cancelled while preparing
    logger.info("execution prepared", extra={"execution_id": execution.id, "session_id": session.id})
    return {"next": "run"}
