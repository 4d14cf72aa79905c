"""Secrets in the tools: bash gets them as environment variables, http_request substitutes
`{{ secret.NAME }}` in header values and the query, and every result is scrubbed before anyone sees it."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from agent_tasks.agent.tools import LOCAL_TOOL_IMPLEMENTATIONS, ToolContext, ToolOutput, run_local_tool
from agent_tasks.scrub import LogScrubber, Scrubber, active, encodings
from tests.support.receiver import receiver
from tests.support.secrets import TOKEN_VALUE

SECRETS = {"API_TOKEN": TOKEN_VALUE}


def context(workdir: Path, secrets: dict[str, str] | None = None) -> ToolContext:
    given = SECRETS if secrets is None else secrets
    return ToolContext(workdir=workdir, allow_private_network=True, secrets=given, scrubber=Scrubber(given))


def run(tool: str, ctx: ToolContext, **tool_input: object) -> ToolOutput:
    return run_local_tool(LOCAL_TOOL_IMPLEMENTATIONS[tool], tool_input, ctx)


@pytest.mark.parametrize(
    "command",
    [
        "echo $API_TOKEN",
        "echo $API_TOKEN | base64",
        "printf '%s' \"$API_TOKEN\" | base64",
        "printf 'xy%s' \"$API_TOKEN\" | base64",  # the value at another alignment in the stream
        "printf '%s' \"$API_TOKEN\" | base64 | tr '+/' '-_'",  # URL-safe base64
        "printf '%s' \"$API_TOKEN\" | od -An -tx1 | tr -d ' \\n'",  # hex
        "printf '%s' \"$API_TOKEN\" | od -An -tx1 | tr -d ' \\n' | tr a-f A-F",  # HEX
        'python3 -c \'import os, urllib.parse; print(urllib.parse.quote(os.environ["API_TOKEN"], safe=""))\'',
        'echo "token=$API_TOKEN" >&2; exit 3',  # an error result is scrubbed too
    ],
)
def test_bash_gets_the_secret_and_no_encoding_of_it_comes_back(tmp_path: Path, command: str) -> None:
    ctx = context(tmp_path)
    output = run("bash", ctx, command=command)
    assert "[secret:API_TOKEN]" in output.text, output.text
    for encoded in encodings(TOKEN_VALUE):
        assert encoded not in output.text
    assert ctx.scrubber.count >= 1


def test_bash_sees_only_the_secrets_it_was_given(tmp_path: Path) -> None:
    output = run("bash", context(tmp_path, {}), command='echo "[${API_TOKEN:-unset}]"')
    assert output.text.strip() == "[unset]"


def test_a_file_holding_the_value_is_scrubbed_when_read_or_grepped(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    run("bash", ctx, command='echo "key: $API_TOKEN" > creds.txt')
    assert run("read_file", ctx, path="creds.txt").text.count("[secret:API_TOKEN]") == 1
    assert TOKEN_VALUE not in run("grep", ctx, pattern="key").text


def test_http_request_substitutes_header_and_query_and_the_echo_is_scrubbed(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    with receiver(TOKEN_VALUE) as server:
        output = run(
            "http_request",
            ctx,
            url=f"{server.url}/check?key={{{{ secret.API_TOKEN }}}}&x=1",
            headers={"Authorization": "Bearer {{ secret.API_TOKEN }}"},
        )
    # Then the receiver got the real value, in the header and (decoded) in the query
    assert server.seen[0]["authorization"] == f"Bearer {TOKEN_VALUE}"
    assert server.seen[0]["query"] == {"key": [TOKEN_VALUE], "x": ["1"]}
    # And what comes back to the model says it was authorized, with every echo of the value scrubbed
    assert output.text.startswith("HTTP 200"), output.text
    assert '"authorized": true' in output.text
    assert TOKEN_VALUE not in output.text
    assert quote(TOKEN_VALUE, safe="") not in output.text
    assert "[secret:API_TOKEN]" in output.text


@pytest.mark.parametrize(
    ("url", "headers", "body", "message"),
    [
        ("http://127.0.0.1:9/{{ secret.API_TOKEN }}", {}, None, "only in header values and the URL's query"),
        ("http://127.0.0.1:9/", {"{{ secret.API_TOKEN }}": "x"}, None, "only in header values"),
        ("http://127.0.0.1:9/", {}, "{{ secret.API_TOKEN }}", "only in header values"),
        ("http://127.0.0.1:9/", {"X-Key": "{{ secret.OTHER }}"}, None, "no secret 'OTHER' is given"),
        ("http://127.0.0.1:9/?k={{ secret.lower }}", {}, None, "no secret 'lower' is given"),
    ],
)
def test_a_placeholder_elsewhere_or_for_another_secret_is_a_tool_error(
    tmp_path: Path, url: str, headers: dict[str, str], body: str | None, message: str
) -> None:
    tool_input: dict[str, object] = {"url": url, "headers": headers}
    if body is not None:
        tool_input.update(body=body, method="POST")
    output = run("http_request", context(tmp_path), **tool_input)
    assert output.is_error
    assert message in output.text


def test_a_redirect_to_another_origin_does_not_carry_the_secret_header(tmp_path: Path) -> None:
    with receiver("not-this") as other, receiver(TOKEN_VALUE, redirect_to=f"{other.url}/landed") as first:
        run(
            "http_request",
            context(tmp_path),
            url=f"{first.url}/redirect",
            headers={"Authorization": "Bearer {{ secret.API_TOKEN }}", "Accept": "text/plain"},
        )
    assert first.seen[0]["authorization"] == f"Bearer {TOKEN_VALUE}"
    assert other.seen == [{"path": "/landed", "authorization": None, "query": {}}]


def test_a_header_value_http_cannot_carry_is_an_error_without_the_value(tmp_path: Path) -> None:
    secrets = {"BAD": "line1\r\nX-Injected: " + TOKEN_VALUE}
    output = run(
        "http_request",
        context(tmp_path, secrets),
        url="http://127.0.0.1:9/",
        headers={"X": "{{ secret.BAD }}"},
    )
    assert output.is_error
    assert "secret BAD cannot be sent in a header" in output.text
    assert TOKEN_VALUE not in output.text
    assert "line1" not in output.text


def test_python_quoted_forms_are_scrubbed_too() -> None:
    value = "line1\r\nX-Injected: " + TOKEN_VALUE
    scrubber = Scrubber({"BAD": value})
    assert (
        scrubber.scrub(f"Invalid header value {value.encode()!r}") == "Invalid header value b'[secret:BAD]'"
    )


def test_the_scrubber_counts_and_names_each_secret() -> None:
    scrubber = Scrubber({"A_KEY": "alpha-secret-1", "B_KEY": "bravo-secret-22"})
    text = "alpha-secret-1 and bravo-secret-22 and " + base64.b64encode(b"alpha-secret-1\n").decode()
    assert scrubber.scrub(text) == "[secret:A_KEY] and [secret:B_KEY] and [secret:A_KEY]"
    assert scrubber.count == 3
    assert scrubber.scrub_json({"k": ["alpha-secret-1"]}) == {"k": ["[secret:A_KEY]"]}


def test_log_lines_written_during_a_run_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test-secrets")
    handler = logging.Handler()
    seen: list[str] = []
    handler.emit = lambda record: seen.append(record.getMessage() + str(getattr(record, "detail", "")))  # type: ignore[method-assign]
    handler.addFilter(LogScrubber())
    log.addHandler(handler)
    try:
        with active(Scrubber(SECRETS)):
            log.warning("got %s", TOKEN_VALUE, extra={"detail": f"x{TOKEN_VALUE}x"})
        log.warning("after the run %s", "plain")
    finally:
        log.removeHandler(handler)
    assert seen == ["got [secret:API_TOKEN]x[secret:API_TOKEN]x", "after the run plain"]


def test_private_network_is_refused_outside_the_local_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from agent_tasks.settings import Settings

    monkeypatch.setenv("ALLOW_PRIVATE_NETWORK", "true")
    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValidationError, match="local cloud only"):
        Settings()
    monkeypatch.setenv("ENVIRONMENT", "local")
    assert Settings().allow_private_network


def test_the_service_logger_scrubs_while_a_run_holds_values(caplog: pytest.LogCaptureFixture) -> None:
    from agent_tasks.observability import logger

    caplog.set_level("INFO")
    with active(Scrubber(SECRETS)):
        logger.info("tool said %s", TOKEN_VALUE, extra={"output": TOKEN_VALUE})
    (record,) = [r for r in caplog.records if r.getMessage().startswith("tool said")]
    assert record.getMessage() == "tool said [secret:API_TOKEN]"
    assert record.output == "[secret:API_TOKEN]"  # type: ignore[attr-defined]


def test_the_runs_own_answer_is_scrubbed_and_counted() -> None:
    from agent_tasks.models.transcript import AgentResult, AgentRunState
    from agent_tasks.services.workflow.running import _scrubbed_result

    # Given a run result whose texts and structured output hold the value, 2 replacements counted before
    result = AgentResult(
        outcome="completed",
        provider="scripted",
        model="m",
        final_text=f"done {TOKEN_VALUE}",
        structured_output={"token": TOKEN_VALUE, "items": [TOKEN_VALUE]},
        state=AgentRunState(secrets_scrubbed=2),
    )
    # When the workflow scrubs it
    scrubbed = _scrubbed_result(result, Scrubber(SECRETS))
    # Then no value is left and the count grows by the 3 replacements
    assert scrubbed.final_text == "done [secret:API_TOKEN]"
    assert scrubbed.structured_output == {"token": "[secret:API_TOKEN]", "items": ["[secret:API_TOKEN]"]}
    assert scrubbed.state.secrets_scrubbed == 5
