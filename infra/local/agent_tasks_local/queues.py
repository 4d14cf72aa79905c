"""SQS event sources, delivered as Lambda's pollers deliver them; moto's own delivery is switched off.

moto invokes an SQS-mapped function inside the SendMessage call that queued the message (the
sender waits for the function), one message at a time, and ignores partial batch responses. Lambda
polls instead: batches of up to BatchSize, several at once (up to the mapping's
MaximumConcurrency), deleting what succeeded and leaving failed messages to come back after the
visibility timeout (and, past the queue's maxReceiveCount, to its dead-letter queue, which moto's
SQS applies on receive). So the local cloud disables moto's mappings through the Lambda API and
polls the template's SQS event sources itself: in the background under `make dev`, on demand
(`drain`) in tests.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3

from agent_tasks_local.rules import INVOKE_CONFIG

# Pollers per event source in the background (Lambda starts with five); drains use the same.
_POLLERS = 5


@dataclass(frozen=True)
class QueueSource:
    """One AWS::Lambda::EventSourceMapping of the template whose source is an SQS queue."""

    logical_id: str
    queue_logical_id: str
    target_function: str  # logical id of the function
    batch_size: int
    partial_batch_response: bool


def queue_sources(transformed: dict[str, Any]) -> list[QueueSource]:
    """The SQS event sources of the transformed template."""
    sources = []
    resources = transformed["Resources"]
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        source = properties.get("EventSourceArn", {})
        queue = source.get("Fn::GetAtt", [None])[0] if isinstance(source, dict) else None
        if queue is None or resources.get(queue, {}).get("Type") != "AWS::SQS::Queue":
            continue
        function = properties["FunctionName"]
        sources.append(
            QueueSource(
                logical_id=logical_id,
                queue_logical_id=queue,
                target_function=function["Ref"] if isinstance(function, dict) else function,
                batch_size=int(properties.get("BatchSize", 10)),
                partial_batch_response="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
            )
        )
    return sources


class QueuePoller:
    def __init__(
        self,
        sources: list[QueueSource],
        *,
        resources: dict[str, str],
        function_names: dict[str, str],
        region: str,
        account: str,
    ) -> None:
        self._sources = {source.target_function: source for source in sources}
        self._resources = resources
        self._function_names = function_names  # logical id -> physical name
        self._region = region
        self._account = account
        self._sqs = boto3.client("sqs", region_name=region)
        # Invoke waits for the function (up to its timeout) and is never retried behind our back.
        self._lambda = boto3.client("lambda", region_name=region, config=INVOKE_CONFIG)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        for source in sources:  # moto would deliver too, synchronously, inside SendMessage
            mapping = resources.get(source.logical_id)
            if mapping:
                self._lambda.update_event_source_mapping(UUID=mapping, Enabled=False)

    @property
    def functions(self) -> list[str]:
        return list(self._sources)

    def queue_url(self, function: str) -> str:
        return self._resources[self._sources[function].queue_logical_id]

    def poll_once(self, function: str, *, wait_seconds: int = 0, redeliver_failed: bool = False) -> int:
        """Receive one batch for `function`'s event source and deliver it; the number of messages.
        With `redeliver_failed`, failed messages are visible again at once (as if their visibility
        timeout had passed), so a drain retries them without waiting."""
        source = self._sources[function]
        url = self.queue_url(function)
        messages: list[Any] = self._sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=source.batch_size,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        arn = f"arn:aws:sqs:{self._region}:{self._account}:{url.rstrip('/').rsplit('/', 1)[-1]}"
        event = {"Records": [self._record(message, arn) for message in messages]}
        result = self._lambda.invoke(
            FunctionName=self._function_names[function], Payload=json.dumps(event).encode()
        )
        payload = json.loads(result["Payload"].read() or b"null")
        failed: set[str] = {m["MessageId"] for m in messages}  # an error: the whole batch comes back
        if "FunctionError" not in result:
            failed = set()
            if source.partial_batch_response and isinstance(payload, dict):
                failed = {item["itemIdentifier"] for item in payload.get("batchItemFailures") or []}
        if redeliver_failed and failed:
            self._sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(m for m in messages if m["MessageId"] in failed)
                ],
            )
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(done[start : start + 10])
                ],
            )
        return len(messages)

    def drain(self, function: str, *, pollers: int = _POLLERS) -> int:
        """Deliver batches with `pollers` pollers until the queue has nothing visible, failed messages
        coming back at once; the number of deliveries (a message delivered twice counts twice)."""
        total = 0
        lock = threading.Lock()

        def poller() -> None:
            nonlocal total
            while handled := self.poll_once(function, redeliver_failed=True):
                with lock:
                    total += handled

        with ThreadPoolExecutor(max_workers=pollers, thread_name_prefix=f"drain-{function}") as pool:
            for future in [pool.submit(poller) for _ in range(pollers)]:
                future.result()
        return total

    @staticmethod
    def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": queue_arn.split(":")[3],
        }

    def start(self) -> None:
        for function in self._sources:
            for n in range(_POLLERS):
                thread = threading.Thread(
                    target=self._loop, args=(function,), daemon=True, name=f"poll-{function}-{n}"
                )
                thread.start()
                self._threads.append(thread)

    def _loop(self, function: str) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(function, wait_seconds=1)
            except Exception as exc:  # noqa: BLE001 - a failed poll is reported and polling goes on
                print(f"[local-cloud] polling for {function} failed: {type(exc).__name__}: {exc}", flush=True)
                self._stop.wait(1)

    def stop(self) -> None:
        """Ask every poller to stop and wait at most 5 s in all (not 5 s each: with many pollers a
        per-thread wait could hold the dev server's Ctrl-C for minutes); pollers are daemons."""
        self._stop.set()
        deadline = time.monotonic() + 5
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
