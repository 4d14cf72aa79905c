"""Where an operator finds a resource in the AWS console, built from its ARN."""

from __future__ import annotations

from urllib.parse import quote

from agent_tasks.settings import get_settings

# The console's host per partition (aws-cn and aws-us-gov have their own).
_CONSOLE_HOSTS = {
    "aws": "console.aws.amazon.com",
    "aws-cn": "console.amazonaws.cn",
    "aws-us-gov": "console.amazonaws-us-gov.com",
}


def execution_arn(state_machine_arn: str, execution_id: str) -> str | None:
    """The ARN of the workflow run named by the execution id (the state machine's ARN, `:execution:`)."""
    parts = state_machine_arn.split(":")
    if len(parts) != 7 or parts[2] != "states" or parts[5] != "stateMachine":
        return None
    return ":".join([*parts[:5], "execution", parts[6], execution_id])


def execution_console_url(execution_id: str) -> str | None:
    """The Step Functions console page of the execution's workflow, when console links are on."""
    settings = get_settings()
    if not settings.console_links:
        return None
    arn = execution_arn(settings.state_machine_arn, execution_id)
    if arn is None:
        return None
    partition, region = arn.split(":")[1], arn.split(":")[3]
    host = _CONSOLE_HOSTS.get(partition, _CONSOLE_HOSTS["aws"])
    page = f"#/v2/executions/details/{quote(arn, safe=':')}"
    return f"https://{region}.{host}/states/home?region={region}{page}"
