"""`agent-tasks`: the client's command line (agent_tasks_client.cli) plus the local cloud's commands:
`agent-tasks dev` runs the local cloud; `agent-tasks token <user>` prints a development token; and
`agent-tasks login --local <user>` saves a profile with such a token."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence

import click

from agent_tasks_client.cli import make_cli
from agent_tasks_local.jwt_dev import DEFAULT_TTL_SECONDS, DevIssuer, state_dir
from agent_tasks_local.stop_signal import StopSignal


@click.command(help="Run the whole service locally against moto.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--no-rules", is_flag=True, help="Do not fire scheduled rules (tests drive them).")
def dev(host: str, port: int, no_rules: bool) -> None:
    from agent_tasks_local.cloud import LocalCloud

    cloud = LocalCloud(api_host=host, api_port=port, fire_rules=not no_rules)
    stop = StopSignal()
    cloud.start()
    # What start() built lives as long as the process: keep the collector from walking it again.
    gc.collect()
    gc.freeze()
    assert cloud.stack is not None
    print(
        "\nAgent Tasks is running locally (AWS services from moto; no account, no network needed).\n"
        f"  API:        {cloud.api_url}/api/v1   (Swagger UI: {cloud.api_url}/api/v1/docs)\n"
        f"  Local AWS:  {cloud.moto_endpoint}   (table {cloud.stack.outputs['TableName']})\n"
        f"  Signing key for dev tokens: {state_dir() / 'dev-signing-key.pem'}\n\n"
        "Log in and use the command line, or get a token and call the API:\n"
        f"  .venv/bin/agent-tasks login --local alice --url {cloud.api_url}\n"
        "  TOKEN=$(.venv/bin/agent-tasks token alice | tail -n 1)\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {cloud.api_url}/api/v1/health\n\n'
        "Ctrl-C stops everything.",
        flush=True,
    )
    stop.wait()
    print("\nstopping...", flush=True)
    cloud.stop()
    # Everything is stopped and nothing is left to save: leave without the interpreter's final
    # garbage collection, which takes seconds over the local cloud's heap (moto, service models).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def mint(user: str, ttl_seconds: int = DEFAULT_TTL_SECONDS, audience: str | None = None) -> str:
    return DevIssuer.load_or_create(state_dir()).mint(user, ttl_seconds=ttl_seconds, audience=audience)


@click.command(help="Print a development bearer token for a user (last line).")
@click.argument("user")
@click.option(
    "--ttl", type=int, default=DEFAULT_TTL_SECONDS, show_default=True, help="Seconds the token is valid."
)
@click.option("--audience", default=None, help="Audience claim (default: the local API's).")
def token(user: str, ttl: int, audience: str | None) -> None:
    issuer = DevIssuer.load_or_create(state_dir())
    print(f"# bearer token for {user!r}, valid {ttl} s, issuer {issuer.issuer}", file=sys.stderr)
    print(issuer.mint(user, ttl_seconds=ttl, audience=audience))


def cli() -> click.Group:
    return make_cli([dev, token], mint_local_token=mint)


def main(argv: Sequence[str] | None = None) -> int:
    cli().main(args=list(argv) if argv is not None else None, prog_name="agent-tasks")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
