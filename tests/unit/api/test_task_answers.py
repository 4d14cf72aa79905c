"""A task's answer is built with `models.common.assembled`, which must give what model_construct gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_tasks.models.common import assembled
from agent_tasks.models.tasks import Task, TaskCreate, TaskFields, TaskLinks, TaskResponse, model_warnings
from tests.support.api_calls import valid_task


def _task(**changes: Any) -> Task:
    body = TaskCreate.model_validate(valid_task(**changes))
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return Task(
        **dict(body),
        id="t-1",
        owner_id="u-1",
        version=3,
        created_at=now,
        updated_at=now,
        template_variables=["repo"],
        webhook_secret="whsec_x",
    )


def _by_model_construct(task: Task, *, reveal_webhook_secret: bool) -> TaskResponse:
    """The answer as TaskResponse.of built it before `assembled` (the reference)."""
    base = f"/api/v1/tasks/{task.id}"
    return TaskResponse.model_construct(
        **{name: getattr(task, name) for name in TaskFields.model_fields},
        id=task.id,
        owner_id=task.owner_id,
        version=task.version,
        created_at=task.created_at,
        updated_at=task.updated_at,
        template_variables=task.variables(),
        next_run_at=task.next_run_at,
        schedule_description="At 09:00, Monday through Friday" if task.schedule_cron else None,
        schedule_paused_reason=task.schedule_paused_reason,
        webhook_secret=task.webhook_secret if reveal_webhook_secret else None,
        warnings=model_warnings(task.sdk_options),
        links=TaskLinks.model_construct(
            self_=base,
            execute=f"{base}/execute",
            executions=f"{base}/executions",
            preview=f"{base}/preview",
            reports=f"{base}/reports",
        ),
    )


def test_the_answer_is_the_model_construct_one() -> None:
    # Given stored tasks, plain and with a schedule and a webhook secret to reveal
    for task, reveal in (
        (_task(), False),
        (_task(is_scheduled=True, schedule_cron="0 9 * * 1-5", tags=["a", "b"]), True),
    ):
        # When the answer is built
        answer = TaskResponse.of(task, reveal_webhook_secret=reveal)
        reference = _by_model_construct(task, reveal_webhook_secret=reveal)
        # Then it is the same instance model_construct makes: fields, fields set, private and extra
        assert answer == reference
        assert answer.model_fields_set == reference.model_fields_set
        assert answer.__pydantic_extra__ is None
        assert answer.__pydantic_private__ is None
        assert answer.model_dump_json(by_alias=True) == reference.model_dump_json(by_alias=True)
        assert answer.links == reference.links
        assert answer.links.model_fields_set == reference.links.model_fields_set


def test_assembled_falls_back_when_a_field_is_missing() -> None:
    # Given values that leave out a field with a default
    # When assembled, Then model_construct fills it in, as it always did
    links = assembled(TaskLinks, {"self_": "a", "execute": "b", "executions": "c", "preview": "d"})
    assert links == TaskLinks.model_construct(self_="a", execute="b", executions="c", preview="d")  # type: ignore[call-arg]
    assert links.model_fields_set == {"self_", "execute", "executions", "preview"}
