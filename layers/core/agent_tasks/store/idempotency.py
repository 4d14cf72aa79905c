"""Idempotency records of POST .../execute (Powertools idempotency), in the service's table.

record  PK=IDEMPOTENCY#<uid>  SK=<hashed key>  (expires_at: the table's TTL attribute)
"""

from __future__ import annotations

from typing import Any

from agent_tasks import aws
from agent_tasks.settings import get_settings


def persistence_layer(owner_id: str) -> Any:
    """The Powertools persistence layer that keeps a user's Idempotency-Key records."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=get_settings().table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=f"IDEMPOTENCY#{owner_id}",
        expiry_attr="expires_at",  # the table's TTL attribute, so old records go away by themselves
        status_attr="idempotency_status",
        boto3_client=aws.dynamodb(),
    )
