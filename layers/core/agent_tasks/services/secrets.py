"""Secrets for tools: put, list and delete (owner-only, audited by name, never by value), the checks
tasks need (do the secrets they reference exist), and the one read of values, for a run."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import TypeAdapter, ValidationError

from agent_tasks.errors import ConflictError, DomainError, NotFoundError, ValidationFailedError
from agent_tasks.models.audit import AuditEvent
from agent_tasks.models.common import API_BASE, utc_now
from agent_tasks.models.secrets import (
    SecretList,
    SecretName,
    SecretPut,
    SecretRecord,
    SecretResponse,
    referenced_names,
)
from agent_tasks.services.actor import Actor
from agent_tasks.store import audit as audit_store
from agent_tasks.store import secrets as secret_store

if TYPE_CHECKING:
    from agent_tasks.models.tasks import Task, TaskFields

MAX_SECRETS_PER_OWNER = 100
_NAME = TypeAdapter(SecretName)


class SecretUnavailable(DomainError):
    """A secret a run needs is missing or cannot be opened: the run ends at Prepare, naming it."""

    code = "secret_unavailable"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"secret {name} is unavailable: {reason}")
        self.name = name
        self.reason = reason


def checked_name(name: str) -> str:
    """A secret name from a path, or a 422 naming the rule."""
    try:
        return _NAME.validate_python(name)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"]
        raise ValidationFailedError(
            f"invalid secret name: {message}",
            details=[{"loc": ["path", "name"], "msg": message, "type": "value_error"}],
        ) from exc


def referenced_secrets(fields: TaskFields | Task) -> list[str]:
    """Every secret a task definition needs: its `secrets` and any MCP server token that names one."""
    names = list(fields.secrets)
    for server in fields.sdk_options.mcp_servers:
        token = server.authorization_token
        names.extend(referenced_names(token.get_secret_value() if token else None))
    return list(dict.fromkeys(names))


def _audit(caller: Actor, name: str, action: str, at: datetime, **details: object) -> AuditEvent:
    return audit_store.new_event(
        actor_id=caller.user_id,
        owner_id=caller.user_id,
        action=action,
        resource_type="secret",
        resource_id=name,
        at=at,
        request_id=caller.request_id,
        changed_fields=["description", "value"] if action != "secret.deleted" else [],
        details={"name": name, **details},
    )


def put_secret(caller: Actor, name: str, body: SecretPut) -> tuple[SecretRecord, bool]:
    """Create or replace the caller's secret; True when it was created."""
    from agent_tasks import vault

    name = checked_name(name)
    old = secret_store.get(caller.user_id, name)
    if old is None and len(secret_store.names_of(caller.user_id)) >= MAX_SECRETS_PER_OWNER:
        raise ConflictError(f"you have {MAX_SECRETS_PER_OWNER} secrets, the most allowed; delete one first")
    now = utc_now()
    sealed = vault.seal(caller.user_id, name, body.value.get_secret_value())
    record = SecretRecord(
        owner_id=caller.user_id,
        name=name,
        description=body.description,
        created_at=old.created_at if old else now,
        updated_at=now,
        version=old.version + 1 if old else 1,
        last_used_at=old.last_used_at if old else None,
        last_used_task_id=old.last_used_task_id if old else None,
        last_used_execution_id=old.last_used_execution_id if old else None,
        sealed=sealed,
    )
    action = "secret.updated" if old else "secret.created"
    audit = _audit(caller, name, action, now)
    secret_store.put(record, audit, previous_version=old.version if old else None)
    return record, old is None


def list_secrets(caller: Actor) -> SecretList:
    items = [SecretResponse.of(record) for record in secret_store.list_for_owner(caller.user_id)]
    return SecretList(items=items, total=len(items), links={"self": f"{API_BASE}/secrets"})


def tasks_referencing(owner_id: str, name: str) -> list[str]:
    """The ids of the owner's live tasks that reference the secret."""
    from agent_tasks.store import tasks as task_store

    return [task.id for task in task_store.list_for_owner(owner_id) if name in referenced_secrets(task)]


def delete_secret(caller: Actor, name: str, *, force: bool) -> None:
    """Delete the caller's secret; 409 while a live task references it, unless forced."""
    name = checked_name(name)
    if secret_store.get(caller.user_id, name) is None:
        raise NotFoundError("no such secret")
    users = tasks_referencing(caller.user_id, name)
    if users and not force:
        raise ConflictError(
            f"secret {name} is referenced by {len(users)} task(s): {', '.join(users[:10])}; remove it "
            "from them first, or delete with ?force=true (their runs then fail at Prepare)",
            details=[
                {"loc": ["path", "name"], "msg": f"referenced by {', '.join(users[:10])}", "type": "in_use"}
            ],
        )
    audit = _audit(caller, name, "secret.deleted", utc_now(), forced=force, referenced_by=users)
    secret_store.delete(caller.user_id, name, audit)


def require_existing(owner_id: str, names: Iterable[str], *, field: str = "secrets") -> None:
    """A 422 naming every referenced secret the owner does not have."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    have = secret_store.names_of(owner_id)
    missing = [name for name in wanted if name not in have]
    if missing:
        message = (
            f"no such secret(s): {', '.join(missing)}; create each with PUT {API_BASE}/secrets/<name> first"
        )
        raise ValidationFailedError(
            message, details=[{"loc": ["body", field], "msg": message, "type": "missing_secret"}]
        )


def load_for_run(owner_id: str, names: Iterable[str], *, task_id: str, execution_id: str) -> dict[str, str]:
    """The values of the named secrets, for the executor only; SecretUnavailable names the first that
    is missing or cannot be opened, and why. Each secret read records which task's run used it."""
    from agent_tasks import vault

    values: dict[str, str] = {}
    now = utc_now()
    for name in dict.fromkeys(names):
        record = secret_store.get(owner_id, name)
        if record is None or record.sealed is None:
            raise SecretUnavailable(name, "it does not exist (deleted after the task referenced it?)")
        try:
            values[name] = vault.open_sealed(owner_id, name, record.sealed)
        except vault.VaultUnavailable as error:
            raise SecretUnavailable(name, error.message) from error
        secret_store.mark_used(owner_id, name, at=now, task_id=task_id, execution_id=execution_id)
    return values
