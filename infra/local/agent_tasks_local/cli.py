"""`agent-tasks dev` runs the local cloud; `agent-tasks token <user>` prints a development token."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from agent_tasks_local.jwt_dev import DEFAULT_TTL_SECONDS, DevIssuer


def _dev(args: argparse.Namespace) -> int:
    from agent_tasks_local.cloud import LocalCloud, state_dir

    cloud = LocalCloud(api_host=args.host, api_port=args.port, fire_rules=not args.no_rules)
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    cloud.start()
    assert cloud.stack is not None
    print(
        "\nAgent Tasks is running locally (AWS services from moto; no account, no network needed).\n"
        f"  API:        {cloud.api_url}/api/v1   (Swagger UI: {cloud.api_url}/api/v1/docs)\n"
        f"  Local AWS:  {cloud.moto_endpoint}   (table {cloud.stack.outputs['TableName']})\n"
        f"  Signing key for dev tokens: {state_dir() / 'dev-signing-key.pem'}\n\n"
        "Get a token and call the API:\n"
        "  TOKEN=$(.venv/bin/agent-tasks token alice | tail -n 1)\n"
        f'  curl -H "Authorization: Bearer $TOKEN" {cloud.api_url}/api/v1/health\n\n'
        "Ctrl-C stops everything.",
        flush=True,
    )
    stopped.wait()
    print("\nstopping...", flush=True)
    cloud.stop()
    return 0


def _token(args: argparse.Namespace) -> int:
    from agent_tasks_local.cloud import state_dir

    issuer = DevIssuer.load_or_create(state_dir())
    token = issuer.mint(args.user, ttl_seconds=args.ttl, audience=args.audience)
    print(f"# bearer token for {args.user!r}, valid {args.ttl} s, issuer {issuer.issuer}", file=sys.stderr)
    print(token)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent-tasks", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run the whole service locally against moto")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=8000)
    dev.add_argument("--no-rules", action="store_true", help="do not fire scheduled rules (tests drive them)")
    dev.set_defaults(run=_dev)
    token = commands.add_parser("token", help="print a development bearer token for a user (last line)")
    token.add_argument("user")
    token.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds the token is valid")
    token.add_argument("--audience", default=None, help="audience claim (default: the local API's)")
    token.set_defaults(run=_token)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
