"""boto3 clients, made once per process and shared (clients are thread-safe; resources are not).

The endpoint comes from boto3's own `AWS_ENDPOINT_URL` support, so the local cloud needs no
special code path here.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from agent_tasks.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)
# DynamoDB without botocore's client-side parameter validation (issue 23: it was a third of a warm
# create's CPU, walking every attribute value of a transaction). It is safe because only `store/`
# calls this client and builds every request itself: item values come from TypeSerializer (which
# refuses what DynamoDB cannot hold), keys and expressions from code, and the calls are checked
# against the boto3 stubs by mypy. DynamoDB validates every request anyway; what it refuses comes
# back as a ValidationException, which store.dynamo answers as 413/422 (botocore's own
# ParamValidationError would have been a 500).
_DYNAMODB_CONFIG = _CONFIG.merge(Config(parameter_validation=False))


def _new_client(service: str, region: str) -> Any:
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=region,
        config=_DYNAMODB_CONFIG if service == "dynamodb" else _CONFIG,
    )


@cache
def _client(service: str) -> Any:
    return _new_client(service, get_settings().aws_region)


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def s3() -> S3Client:
    client: S3Client = _client("s3")
    return client


def stepfunctions() -> SFNClient:
    client: SFNClient = _client("stepfunctions")
    return client


def sqs() -> SQSClient:
    client: SQSClient = _client("sqs")
    return client


def events() -> EventBridgeClient:
    client: EventBridgeClient = _client("events")
    return client


# Bounded: the region comes from a user's topic ARN (a real region's shape: models/arns.py), and each
# client holds its own session's copy of the service model; AWS has fewer regions than this.
@lru_cache(maxsize=48)
def _regional_client(service: str, region: str) -> Any:
    return _new_client(service, region)


def sns(region: str | None = None) -> Any:
    """SNS in `region` (a user's topic may live in another region than the service); only the topic
    adapter uses it."""
    if region is None or region == get_settings().aws_region:
        return _client("sns")
    return _regional_client("sns", region)


def reset_clients() -> None:
    """Forget cached clients (tests that switch endpoints or regions call this)."""
    _client.cache_clear()
    _regional_client.cache_clear()


def kms() -> Any:
    """KMS (no type stubs are installed for it): only `agent_tasks.vault` uses it."""
    return _client("kms")
