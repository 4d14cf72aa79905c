"""moto does not fire scheduled EventBridge rules; this fires the template's at their rate, or on demand."""

from __future__ import annotations

import json
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config

from agent_tasks_local.deploy import ScheduledRule
from agent_tasks_local.lambdas import FunctionHost

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}

INVOKE_CONFIG = Config(read_timeout=900, retries={"total_max_attempts": 1})


def rate_seconds(expression: str) -> int:
    match = _RATE.match(expression)
    if not match:
        raise ValueError(f"the local cloud fires rate(...) rules only, not {expression!r}")
    return int(match.group(1)) * _SECONDS[match.group(2).rstrip("s")]


class RuleFirer:
    def __init__(
        self,
        rules: list[ScheduledRule],
        host: FunctionHost,
        *,
        region: str,
        account: str,
        rule_names: dict[str, str],
    ) -> None:
        self._rules = {rule.logical_id: rule for rule in rules}
        self._host = host
        self._region = region
        self._account = account
        self._rule_names = rule_names
        # Invoke waits for the function (up to its timeout) and is never retried behind our back.
        self._lambda = boto3.client("lambda", region_name=region, config=INVOKE_CONFIG)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def rule_ids(self) -> list[str]:
        return list(self._rules)

    def fire(self, logical_id: str, *, at: datetime | None = None) -> Any:
        """Deliver one Scheduled Event to the rule's target, as EventBridge would; returns its result."""
        rule = self._rules[logical_id]
        name = self._rule_names.get(logical_id, logical_id)
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self._account,
            "time": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self._region,
            "resources": [f"arn:aws:events:{self._region}:{self._account}:rule/{name}"],
            "detail": {},
        }
        function = self._host.by_logical_id(rule.target_function)
        result = self._lambda.invoke(FunctionName=function.physical_name, Payload=json.dumps(event).encode())
        return json.loads(result["Payload"].read() or b"null")

    def start(self) -> None:
        for logical_id, rule in self._rules.items():
            thread = threading.Thread(
                target=self._loop,
                args=(logical_id, rate_seconds(rule.expression)),
                daemon=True,
                name=logical_id,
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self, logical_id: str, interval: int) -> None:
        while not self._stop.wait(interval):
            try:
                self.fire(logical_id)
            except Exception as exc:  # noqa: BLE001 - a failed tick is reported and the next one still runs
                print(f"[local-cloud] rule {logical_id} failed: {type(exc).__name__}: {exc}", flush=True)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
