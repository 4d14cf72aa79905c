"""Parts of an item too large for DynamoDB (400 KB an item), kept in S3 with the item holding the key.

Transcript messages spill their content (store/sessions.py); executions spill what grows with the
input and the model's answer (store/executions.py). Everything lives under `transcripts/`, which the
functions that read executions may read and the bucket's lifecycle expires.
"""

from __future__ import annotations

from agent_tasks import aws
from agent_tasks.settings import get_settings


def put_text(key: str, text: str) -> None:
    aws.s3().put_object(
        Bucket=get_settings().bucket_name,
        Key=key,
        Body=text.encode("utf-8"),
        ContentType="application/json",
        ServerSideEncryption="AES256",
    )


def get_text(key: str) -> str:
    body: bytes = aws.s3().get_object(Bucket=get_settings().bucket_name, Key=key)["Body"].read()
    return body.decode("utf-8")
