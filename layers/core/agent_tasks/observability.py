"""One place that makes the logger, tracer and metrics every function shares, and the few helpers
that keep an execution's logs, traces and metrics consistent across functions.

Logs: every line of an execution's work carries `execution_id`, `task_id` and `owner_id` (and,
from `inject_lambda_context`, the request id), so one Logs Insights query finds a whole execution.
Metrics: the execution metrics are written as their own EMF document, with a `TriggerType`
dimension set beside the plain `service` one, so they neither leak dimensions into the handler's
`metrics` nor depend on which function's handler flushes (an execution ends in the executor, the
API on cancel, or the reconciler).
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider
from aws_lambda_powertools.shared import constants
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment

from agent_tasks.scrub import LogScrubber


class _Usage(Protocol):
    input_tokens: int
    output_tokens: int


class Execution(Protocol):
    """What the logs and metrics read of an execution (this module imports nothing from the domain)."""

    @property
    def id(self) -> str: ...
    @property
    def task_id(self) -> str: ...
    @property
    def owner_id(self) -> str: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def trigger_type(self) -> str: ...
    @property
    def usage(self) -> _Usage: ...
    @property
    def cost_usd(self) -> float | None: ...
    @property
    def total_tool_calls(self) -> int: ...
    @property
    def permission_denials(self) -> Sequence[object]: ...
    @property
    def duration_seconds(self) -> float | None: ...


NAMESPACE = "AgentTasks"
TRIGGER_TYPE_DIMENSION = "TriggerType"
# The keys an execution's work logs with; removed again when that work is done.
EXECUTION_LOG_KEYS = ("execution_id", "task_id", "owner_id", "session_id", "step")
# The metric that counts each final status (one per execution).
END_METRICS = {
    "completed": "ExecutionsCompleted",
    "failed": "ExecutionsFailed",
    "cancelled": "ExecutionsCancelled",
    "timed_out": "ExecutionsTimedOut",
}


class _UntracedSegment(BaseSegment):
    """A subsegment that records nothing."""

    def close(self, end_time: int | None = None) -> None:
        pass

    def add_subsegment(self, subsegment: Any) -> None:
        pass

    def remove_subsegment(self, subsegment: Any) -> None:
        pass

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        pass


class _Untraced(BaseProvider):
    """The tracer's provider while tracing is off: subsegments that record nothing.

    Powertools otherwise hands every tracer the X-Ray SDK's recorder, traced or not. Outside
    Lambda (tests, the local cloud, the bench) that recorder is built for centralised sampling,
    and importing it makes a botocore session and an X-Ray client twice (the endpoints and the
    service model read each time): a large share of a function's cold import there. On Lambda,
    where tracing is on, the recorder samples locally and makes no client; nothing changes there.
    """

    _segment = _UntracedSegment()

    @contextmanager
    def in_subsegment(self, name: Any = None, **kwargs: Any) -> Iterator[BaseSegment]:
        yield self._segment

    @asynccontextmanager
    async def in_subsegment_async(self, name: Any = None, **kwargs: Any) -> AsyncIterator[BaseSegment]:
        yield self._segment

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass

    def patch(self, modules: Sequence[str]) -> None:
        pass

    def patch_all(self) -> None:
        pass


def tracing_is_off() -> bool:
    """Powertools' own rule (`Tracer._is_tracer_disabled`): off when POWERTOOLS_TRACE_DISABLED says
    so, outside Lambda, and under SAM local or Chalice."""
    if resolve_truthy_env_var_choice(env=os.getenv(constants.TRACER_DISABLED_ENV, "false")):
        return True
    in_lambda = bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV))
    return not in_lambda or emulated


logger = Logger()
tracer = Tracer(disabled=True, provider=_Untraced()) if tracing_is_off() else Tracer()
metrics = Metrics(namespace=NAMESPACE)
# While a run holds secret values, its scrubber rewrites every log line (agent_tasks.scrub).
logger.registered_handler.addFilter(LogScrubber())


# -- logs -----------------------------------------------------------------------------------------


def bind_execution(execution: Execution) -> None:
    """Add the execution's ids to every following log line (until `execution_log_keys` ends)."""
    keys = {"execution_id": execution.id, "task_id": execution.task_id, "owner_id": execution.owner_id}
    if execution.session_id:
        keys["session_id"] = execution.session_id
    logger.append_keys(**keys)


@contextmanager
def execution_log_keys(**keys: str | None) -> Iterator[None]:
    """Log with these keys inside the block (e.g. a step, or one task of a scheduler tick); remove
    every execution key on the way out, so the next piece of work in a warm function starts clean."""
    logger.append_keys(**{name: value for name, value in keys.items() if value is not None})
    try:
        yield
    finally:
        logger.remove_keys([*EXECUTION_LOG_KEYS, *keys])


# -- traces ---------------------------------------------------------------------------------------


@contextmanager
def subsegment(name: str, **annotations: str | bool | int) -> Iterator[Any]:
    """An X-Ray subsegment around a model or tool call, annotated, with its duration as metadata.

    Free when tracing is off (POWERTOOLS_TRACE_DISABLED: the SDK hands out dummy subsegments).
    """
    started = time.monotonic()
    with tracer.provider.in_subsegment(name) as entered:
        segment: Any = entered  # the SDK's annotation types leave out int
        for key, value in annotations.items():
            segment.put_annotation(key, value)
        try:
            yield segment
        finally:
            segment.put_metadata("duration_ms", int((time.monotonic() - started) * 1000), "agent_tasks")


# -- metrics --------------------------------------------------------------------------------------


def _execution_document(trigger_type: str) -> AmazonCloudWatchEMFProvider:
    document = AmazonCloudWatchEMFProvider(namespace=NAMESPACE)
    # The plain `service` set (alarms and totals) plus `service, TriggerType` (the breakdown).
    document.add_dimensions(
        service=document.service or "agent-tasks", **{TRIGGER_TYPE_DIMENSION: trigger_type}
    )
    return document


def _flush(document: AmazonCloudWatchEMFProvider) -> None:
    try:
        document.flush_metrics(raise_on_empty_metrics=True)
    except Exception as error:  # noqa: BLE001 - a metric must never fail the execution it counts
        logger.warning("execution metrics not written", extra={"error": type(error).__name__})


def record_execution_started(execution: Execution) -> None:
    """ExecutionsStarted by trigger type: once per execution, when it is written."""
    document = _execution_document(execution.trigger_type)
    document.add_metric(name="ExecutionsStarted", unit=MetricUnit.Count, value=1)
    _flush(document)


def record_execution_ended(execution: Execution) -> None:
    """The final status and the run's totals (tokens, cost, tool calls, permission denials), by
    trigger type: once per execution, by whoever moved it to its final status."""
    name = END_METRICS.get(execution.status)
    if name is None:
        return
    document = _execution_document(execution.trigger_type)
    document.add_metric(name=name, unit=MetricUnit.Count, value=1)
    document.add_metric(name="ModelInputTokens", unit=MetricUnit.Count, value=execution.usage.input_tokens)
    document.add_metric(name="ModelOutputTokens", unit=MetricUnit.Count, value=execution.usage.output_tokens)
    if execution.cost_usd is not None:
        document.add_metric(name="ModelCostUsd", unit=MetricUnit.NoUnit, value=execution.cost_usd)
    document.add_metric(name="ToolCalls", unit=MetricUnit.Count, value=execution.total_tool_calls)
    document.add_metric(
        name="PermissionDenials", unit=MetricUnit.Count, value=len(execution.permission_denials)
    )
    if execution.duration_seconds is not None:
        document.add_metric(
            name="ExecutionDuration", unit=MetricUnit.Seconds, value=execution.duration_seconds
        )
    _flush(document)
