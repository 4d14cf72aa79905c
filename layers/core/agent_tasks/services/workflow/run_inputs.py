"""What every step of a run reads: the stored execution, its options, its secrets, its provider."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_tasks.models.executions import Execution
from agent_tasks.models.sdk_options import SdkOptions
from agent_tasks.models.secrets import SECRET_REFERENCE, referenced_names
from agent_tasks.observability import bind_execution, logger
from agent_tasks.services.workflow.errors import AgentRunFailed, ExecutionMissing
from agent_tasks.settings import get_settings
from agent_tasks.store import executions as execution_store
from agent_tasks.store import tasks as task_store


def require(execution_id: str) -> Execution:
    execution = execution_store.get(execution_id)
    if execution is None:
        raise ExecutionMissing(f"execution {execution_id} is not stored")
    bind_execution(execution)  # every later line of this step names the execution, task and owner
    return execution


def _live_mcp_tokens(execution: Execution) -> dict[str, str]:
    """MCP tokens are not kept in snapshots: they come from the live task."""
    if not (execution.task_snapshot.get("sdk_options") or {}).get("mcp_servers"):
        return {}
    task = task_store.get(execution.task_id)
    return {
        s.name: s.authorization_token.get_secret_value()
        for s in (task.sdk_options.mcp_servers if task else [])
        if s.authorization_token is not None
    }


def secrets_and_options(execution: Execution) -> tuple[dict[str, str], SdkOptions]:
    """The values of the secrets the run needs, and the snapshot's options with MCP tokens from the live
    task (`{{ secret.NAME }}` replaced): the live task is read once for both."""
    tokens = _live_mcp_tokens(execution)
    values = _open_secrets(execution, tokens)
    raw = dict(execution.task_snapshot.get("sdk_options") or {})
    servers = raw.get("mcp_servers") or []
    if servers:
        raw["mcp_servers"] = [
            {**s, "authorization_token": _with_secrets(tokens.get(s["name"]), values)} for s in servers
        ]
    return values, SdkOptions.model_validate(raw)


def _with_secrets(token: str | None, values: Mapping[str, str]) -> str | None:
    if token is None:
        return None
    return SECRET_REFERENCE.sub(lambda m: values.get(m.group(1), m.group(0)), token)


def _open_secrets(execution: Execution, mcp_tokens: Mapping[str, str]) -> dict[str, str]:
    """The values of every secret the run needs: its task's `secrets` and any an MCP token names.
    A secret that is gone or cannot be opened fails the run, naming it and saying why."""
    from agent_tasks.services import secrets

    names = list(execution.task_snapshot.get("secrets") or [])
    for token in mcp_tokens.values():
        names.extend(referenced_names(token))
    if not names:
        return {}
    try:
        return secrets.load_for_run(
            execution.owner_id, names, task_id=execution.task_id, execution_id=execution.id
        )
    except secrets.SecretUnavailable as error:
        logger.warning("secret unavailable", extra={"secret": error.name, "reason": error.reason})
        raise AgentRunFailed(error.message) from None


def provider_name() -> str:
    from agent_tasks.agent.providers import select_provider

    return select_provider(get_settings()).name


def select_provider() -> Any:
    from agent_tasks.agent.providers import select_provider

    return select_provider(get_settings())


def timeout_message(execution: Execution) -> str:
    seconds = (execution.task_snapshot.get("sdk_options") or {}).get("timeout_seconds")
    return f"the execution ran longer than the task's timeout_seconds ({seconds})"
