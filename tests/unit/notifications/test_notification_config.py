"""NotificationConfig: https only, no loopback/private hosts, known keys, a real `on` list, a destination."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from agent_tasks.models.notifications import NotificationConfig

PUBLIC_HOOK = "https://hooks.example.com/agent-tasks"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:agent-task-events"


def errors_of(payload: dict[str, Any], **context: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        NotificationConfig.model_validate(payload, context=context or {"allow_private_network": False})
    return caught.value.errors()


def test_a_public_https_webhook_is_accepted_with_every_outcome_by_default() -> None:
    config = NotificationConfig.model_validate({"webhook_url": PUBLIC_HOOK})
    assert str(config.webhook_url) == PUBLIC_HOOK
    assert config.on == ["completed", "failed", "cancelled", "timed_out", "expired"]
    assert config.wants("failed")
    assert not config.wants("running")


def test_an_sns_topic_alone_is_a_destination() -> None:
    config = NotificationConfig.model_validate({"on": ["failed", "timed_out"], "sns_topic_arn": TOPIC})
    assert config.webhook_url is None
    assert not config.wants("completed")


def test_http_is_refused() -> None:
    [error] = errors_of({"webhook_url": "http://hooks.example.com/x"})
    assert error["loc"] == ("webhook_url",)
    assert "https" in error["msg"]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://LOCALHOST./hook",
        "https://2130706433/hook",  # 127.0.0.1 spelled as a number
        "https://10.1.2.3/hook",
        "https://192.168.0.10:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://metadata.internal/hook",
        "https://intranet/hook",
    ],
)
def test_loopback_private_and_link_local_hosts_are_refused(url: str) -> None:
    [error] = errors_of({"webhook_url": url})
    assert error["loc"] == ("webhook_url",)
    assert "host" in error["msg"]


def test_credentials_in_the_url_are_refused() -> None:
    [error] = errors_of({"webhook_url": "https://user:pw@hooks.example.com/x"})
    assert error["loc"] == ("webhook_url",)


def test_the_local_cloud_may_allow_loopback_http() -> None:
    # Given the allow-private switch (the local cloud's tests): loopback over http is fine
    config = NotificationConfig.model_validate(
        {"webhook_url": "http://127.0.0.1:9000/hook"}, context={"allow_private_network": True}
    )
    assert config.webhook_url is not None
    # but the metadata address never is
    [error] = errors_of({"webhook_url": "http://169.254.169.254/"}, allow_private_network=True)
    assert error["loc"] == ("webhook_url",)


def test_without_context_the_setting_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent_tasks.settings import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "false")
    with pytest.raises(ValidationError):
        NotificationConfig.model_validate({"webhook_url": "https://127.0.0.1/x"})
    get_settings.cache_clear()
    monkeypatch.setenv("ENVIRONMENT", "local")  # the only environment that may allow it
    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    assert NotificationConfig.model_validate({"webhook_url": "https://127.0.0.1/x"}).webhook_url
    get_settings.cache_clear()


def test_unknown_keys_are_refused() -> None:
    [error] = errors_of({"webhook_url": PUBLIC_HOOK, "email": "me@example.com"})
    assert error["loc"] == ("email",)
    assert error["type"] == "extra_forbidden"


def test_empty_on_is_refused() -> None:
    [error] = errors_of({"on": [], "webhook_url": PUBLIC_HOOK})
    assert error["loc"] == ("on",)


def test_repeated_or_unknown_outcomes_are_refused() -> None:
    [repeated] = errors_of({"on": ["failed", "failed"], "webhook_url": PUBLIC_HOOK})
    assert repeated["loc"] == ("on",)
    assert "failed" in repeated["msg"]
    [unknown] = errors_of({"on": ["exploded"], "webhook_url": PUBLIC_HOOK})
    assert unknown["loc"] == ("on", 0)


def test_a_malformed_topic_arn_is_refused() -> None:
    [error] = errors_of({"sns_topic_arn": "arn:aws:sqs:eu-west-1:123456789012:queue"})
    assert error["loc"] == ("sns_topic_arn",)


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sns:us-east-1:123456789012:t",
        "arn:aws:sns:eu-central-2:123456789012:alerts.fifo",
        "arn:aws:sns:ap-southeast-4:123456789012:t",
        "arn:aws:sns:il-central-1:123456789012:t",
        "arn:aws:sns:mx-central-1:123456789012:t",
        "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t",
        "arn:aws-cn:sns:cn-north-1:123456789012:t",
        "arn:aws-iso-b:sns:us-isob-east-1:123456789012:t",
    ],
)
def test_topic_arns_of_real_regions_and_partitions_are_accepted(arn: str) -> None:
    # Given a topic in a real region of its partition / When configured / Then it is kept as given
    config = NotificationConfig.model_validate({"sns_topic_arn": arn})
    assert config.sns_topic_arn == arn


@pytest.mark.parametrize(
    ("arn", "reason"),
    [
        ("arn:aws:sns:x:123456789012:t", "the region 'x' is not an AWS region name"),
        ("arn:aws:sns:us-east-1-:123456789012:t", "the region 'us-east-1-' is not an AWS region name"),
        ("arn:aws:sns::123456789012:t", "the region '' is not an AWS region name"),
        ("arn:aws:sns:us-east-01:123456789012:t", "the region 'us-east-01' is not an AWS region name"),
        ("arn:aws:sns:useast1:123456789012:t", "the region 'useast1' is not an AWS region name"),
        ("arn:aws:sns:cn-north-1:123456789012:t", "the region 'cn-north-1' is not in the partition 'aws'"),
        (
            "arn:aws-cn:sns:us-east-1:123456789012:t",
            "the region 'us-east-1' is not in the partition 'aws-cn'",
        ),
        ("arn:aws-foo:sns:us-east-1:123456789012:t", "the partition 'aws-foo' is not an AWS partition"),
        ("arn:aws:sns:us-east-1:12345678901:t", "is not a 12-digit AWS account id"),
        ("arn:aws:sns:us-east-1:" + "\u0661" * 12 + ":t", "12-digit"),  # Arabic-Indic digits
        ("arn:aws:sns:us-east-1:123456789012:two words", "the topic name must be"),
        ("arn:aws:sqs:us-east-1:123456789012:t", "not an sns ARN"),
        ("sns:us-east-1:123456789012:t", "not an ARN"),
    ],
)
def test_a_topic_arn_with_a_made_up_region_or_partition_is_refused_saying_why(arn: str, reason: str) -> None:
    # Given a topic ARN wrong in one part / When configured
    [error] = errors_of({"sns_topic_arn": arn})
    # Then the error names the field and the part that is wrong
    assert error["loc"] == ("sns_topic_arn",)
    assert reason in error["msg"]


def test_at_least_one_destination_is_required() -> None:
    [error] = errors_of({"on": ["failed"]})
    assert "webhook_url" in error["msg"]
    assert "sns_topic_arn" in error["msg"]


def test_task_events_are_on_values_and_the_format_defaults_to_json() -> None:
    # Given a config that asks for every task event / Then it is accepted, as the signed JSON format
    events = ["approval_requested", "schedule_paused", "model_retiring", "budget_reached"]
    config = NotificationConfig.model_validate({"webhook_url": PUBLIC_HOOK, "on": events})
    assert config.format == "json"
    assert all(config.wants(event) for event in events)
    assert not config.wants("completed")


@pytest.mark.parametrize("expression", ["status ==", "[?", "foo[", "`not json"])
def test_an_only_if_that_does_not_compile_is_refused_naming_it(expression: str) -> None:
    [error] = errors_of({"webhook_url": PUBLIC_HOOK, "only_if": expression})
    assert error["loc"] == ("only_if",)
    assert "not a JMESPath expression" in error["msg"]


def test_only_if_is_bounded_in_length() -> None:
    [error] = errors_of({"webhook_url": PUBLIC_HOOK, "only_if": "a || " * 120 + "b"})
    assert error["loc"] == ("only_if",)
    assert error["type"] == "string_too_long"


def test_the_slack_format_needs_a_webhook() -> None:
    [error] = errors_of({"sns_topic_arn": TOPIC, "format": "slack"})
    assert "format slack" in error["msg"]
