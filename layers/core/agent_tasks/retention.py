"""How long an execution is kept, and how its S3 objects are made to go when its items do.

Every item of an execution (the execution, its session and messages, its report item) carries the
table's TTL attribute `expires_at`, set when it is written. S3 has no per-object expiry date, so
each object of an execution is tagged with a retention class, the smallest of RETENTION_CLASSES that
is at least the days its execution has left; the bucket's lifecycle rules (template.yaml) expire
objects of each class that many days after they were written. An object thus goes at most one
class step after its items; never before them.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

RETENTION_TAG = "retention-days"
RETENTION_CLASSES = (7, 30, 90, 180, 400)  # one lifecycle rule each in template.yaml


def expires_at(created: datetime, days: int) -> int:
    """The TTL value (Unix seconds) of an execution created at `created` and kept `days` days."""
    return int((created + timedelta(days=days)).timestamp())


def retention_class(expires: int, now: datetime) -> int:
    """The lifecycle class an object written now must carry so it does not outlive `expires` by less."""
    days_left = max(1, math.ceil((expires - now.timestamp()) / 86_400))
    return next((c for c in RETENTION_CLASSES if c >= days_left), RETENTION_CLASSES[-1])


def object_tagging(expires: int | None, now: datetime) -> dict[str, Any]:
    """PutObject's `Tagging` argument for an object of an execution (none when it has no retention)."""
    if expires is None:
        return {}
    return {"Tagging": urlencode({RETENTION_TAG: str(retention_class(expires, now))})}
