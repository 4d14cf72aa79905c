"""The start queue (SQS): the scheduler's tick sends claimed slots here, starter workers take them.

The only module that talks to SQS. SendMessageBatch takes at most 10 entries; entries SQS refuses
in a batch it otherwise accepted are sent again (a few times), then reported as an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent_tasks import aws

BATCH_LIMIT = 10
_ATTEMPTS = 3


class QueueSendError(Exception):
    """Some messages could not be queued; their slots stay claimed, so a later tick re-sends them."""


def send(queue_url: str, bodies: Sequence[str], *, delays: Sequence[int] | None = None) -> None:
    """Queue every body, in order, 10 to a request; `delays` (seconds, at most 900) holds each back."""
    if delays is not None and len(delays) != len(bodies):
        raise ValueError(f"{len(bodies)} bodies but {len(delays)} delays")
    for start in range(0, len(bodies), BATCH_LIMIT):
        entries: list[dict[str, object]] = [
            {"Id": str(index), "MessageBody": body}
            for index, body in enumerate(bodies[start : start + BATCH_LIMIT])
        ]
        if delays is not None:
            for entry, delay in zip(entries, delays[start : start + BATCH_LIMIT], strict=True):
                entry["DelaySeconds"] = delay
        for _ in range(_ATTEMPTS):
            result = aws.sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)  # type: ignore[arg-type]
            failed = {failure["Id"] for failure in result.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                break
        if entries:
            raise QueueSendError(f"{len(entries)} start message(s) were not queued")
