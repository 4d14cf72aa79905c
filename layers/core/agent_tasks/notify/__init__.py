"""Notification delivery, apart from the domain that decides it: signing, the events, webhooks,
Slack messages, SNS messages and only_if conditions. The notifier (services/notifier.py) uses it."""

from agent_tasks.notify.events import EVENT_SOURCE, NotificationEvent, TaskEvent, event_id_for
from agent_tasks.notify.signing import SIGNATURE_HEADER, new_webhook_secret, sign, signature_header, verify

__all__ = [
    "EVENT_SOURCE",
    "SIGNATURE_HEADER",
    "NotificationEvent",
    "TaskEvent",
    "event_id_for",
    "new_webhook_secret",
    "sign",
    "signature_header",
    "verify",
]
