"""`agent-tasks`: tasks as code, run and follow, from a terminal or a script.

Needs only this package (`pip install 'agent-tasks-client[cli]'`). The repository's own `agent-tasks`
(agent_tasks_local.cli) is this command line plus `dev` and `token` for the local cloud, and lets
`login --local USER` mint a development token.

Exit codes: 0 done (a followed run completed); 1 a followed run ended otherwise (failed, timed out,
cancelled); 2 usage error; 3 the API answered an error or could not be reached.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, get_args

try:
    import click
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table
except ImportError as missing:  # pragma: no cover - only without the [cli] extra
    raise SystemExit(
        f"agent-tasks needs the command line's libraries ({missing.name}): "
        "pip install 'agent-tasks-client[cli]'"
    ) from None

from agent_tasks_client import follow as following
from agent_tasks_client import models, taskfiles
from agent_tasks_client.client import AgentTasks, ExecutionStatus
from agent_tasks_client.config import DEFAULT_PROFILE, Profile, load_profile, save_profile
from agent_tasks_client.errors import AgentTasksError, APIError, NotFound

EXIT_RUN_NOT_COMPLETED = 1
EXIT_API_ERROR = 3
LOCAL_URL = "http://127.0.0.1:8000"
UUID = re.compile(r"^[0-9a-fA-F-]{36}$")
MintToken = Callable[[str], str]


@dataclass
class State:
    profile: str | None = None
    url: str | None = None
    token: str | None = None
    mint_local_token: MintToken | None = None
    client_factory: Callable[[str, str | None], AgentTasks] = AgentTasks

    def client(self) -> AgentTasks:
        stored = load_profile(self.profile)
        url = self.url or (stored.url if stored else None)
        if not url:
            fail("not logged in: run `agent-tasks login --url URL` (or set AGENT_TASKS_URL)")
        token = self.token or (stored.token if stored else None)
        return self.client_factory(url, token)


def fail(message: str, code: int = EXIT_API_ERROR) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _console() -> Console:
    console = Console(highlight=False)
    # Piped into a file or grep: wide enough that no column is cut short.
    return console if console.is_terminal else Console(highlight=False, width=400)


class _Cli(click.Group):
    """Turns the API's errors into their message and fields on stderr, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except APIError as error:
            click.echo(f"error: {error.message} ({error.status} {error.code})", err=True)
            for described in error.fields:
                click.echo(f"  {described}", err=True)
            if error.status == 401:
                click.echo(
                    "  the token is missing, expired or not for this API: run `agent-tasks login`", err=True
                )
            raise click.exceptions.Exit(EXIT_API_ERROR) from None
        except (AgentTasksError, taskfiles.TaskFileError) as error:
            fail(str(error))


@contextmanager
def _client(ctx: click.Context) -> Iterator[AgentTasks]:
    state: State = ctx.find_object(State) or State()
    with state.client() as client:
        yield client


def _find_task(client: AgentTasks, name_or_id: str) -> models.TaskResponse:
    """A task by exact name (ignoring case), else by id."""
    wanted = name_or_id.casefold()
    for task in client.iter_tasks(q=name_or_id):
        if task["name"].casefold() == wanted:
            return task
    if UUID.match(name_or_id):
        return client.get_task(name_or_id)
    raise NotFound(404, "not_found", f"no task named {name_or_id!r}")


def _variables(pairs: Sequence[str]) -> dict[str, str]:
    variables: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--var")
        variables[key] = value
    return variables


json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
follow_option = click.option(
    "--follow", is_flag=True, help="Print the run as it goes, until it ends; exit 0 only if it completes."
)


def make_cli(
    extra_commands: Sequence[click.Command] = (), *, mint_local_token: MintToken | None = None
) -> click.Group:
    @click.group(cls=_Cli, help=__doc__.split("\n\n")[0] if __doc__ else None)
    @click.option(
        "--profile", envvar="AGENT_TASKS_PROFILE", help="Profile to use (default: the current one)."
    )
    @click.option("--url", help="API URL for this command (overrides the profile).")
    @click.option("--token", help="Bearer token for this command (overrides the profile).")
    @click.pass_context
    def cli(ctx: click.Context, profile: str | None, url: str | None, token: str | None) -> None:
        existing = ctx.find_object(State)
        factory = existing.client_factory if existing else AgentTasks
        ctx.obj = State(profile, url, token, mint_local_token, factory)

    @cli.command()
    @click.option("--url", "login_url", help=f"The API's URL (with --local: default {LOCAL_URL}).")
    @click.option("--token", "login_token", help="Bearer token (asked for when not given).")
    @click.option(
        "--local", "local_user", metavar="USER", help="Mint a development token for USER (make dev)."
    )
    @click.option("--profile", "login_profile", default=None, help="Profile name to save (default: default).")
    @click.pass_context
    def login(
        ctx: click.Context,
        login_url: str | None,
        login_token: str | None,
        local_user: str | None,
        login_profile: str | None,
    ) -> None:
        """Save a profile (URL and token, in a file only you can read) after checking it works."""
        state: State = ctx.obj
        if local_user:
            if state.mint_local_token is None:
                fail("login --local needs the local cloud's agent-tasks (in the repository: make install)", 2)
            login_url = login_url or LOCAL_URL
            login_token = state.mint_local_token(local_user)
        if not login_url:
            raise click.UsageError("give --url URL (or --local USER)")
        if not login_token:
            login_token = click.prompt("Token", hide_input=True)
        with state.client_factory(login_url, login_token) as client:
            health = client.health()
        name = login_profile or state.profile or DEFAULT_PROFILE
        path = save_profile(name, Profile(login_url, login_token))
        click.echo(f"logged in to {client.base_url} as {health['user_id']} (profile {name!r} in {path})")

    @cli.group()
    def tasks() -> None:
        """Tasks: apply files, list, get, delete."""

    @tasks.command("apply")
    @click.option(
        "-f",
        "--file",
        "paths",
        multiple=True,
        required=True,
        type=click.Path(path_type=Path),
        help="A YAML or JSON file of task definitions, or a directory of them (repeatable).",
    )
    @click.option("--dry-run", is_flag=True, help="Print what would change, as a diff; change nothing.")
    @click.option("--prune", is_flag=True, help="Delete your tasks that no file defines.")
    @click.pass_context
    def apply(ctx: click.Context, paths: tuple[Path, ...], dry_run: bool, prune: bool) -> None:
        """Create or update tasks to match the files, matched by name."""
        desired = taskfiles.load_tasks(paths)
        with _client(ctx) as client:
            changes = taskfiles.plan(desired, list(client.iter_tasks()), prune=prune)
            for change in changes:
                if dry_run:
                    click.echo(f"{change.action} {change.name}")
                    if change.action != "unchanged":
                        click.echo(change.diff())
                    continue
                if change.action == "create":
                    client.create_task(change.desired)
                elif change.action == "update" and change.current is not None:
                    client.update_task(
                        str(change.current["id"]), change.fields, if_match=change.current["version"]
                    )
                elif change.action == "delete" and change.current is not None:
                    client.delete_task(str(change.current["id"]), if_match=change.current["version"])
                detail = f" ({', '.join(sorted(change.fields))})" if change.action == "update" else ""
                past = {
                    "create": "created",
                    "update": "updated",
                    "delete": "deleted",
                    "unchanged": "unchanged",
                }
                click.echo(f"{past[change.action]} {change.name}{detail}")
        counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "delete", "unchanged")}
        verb = "would " if dry_run else ""
        click.echo(
            f"{verb}create {counts['create']}, {verb}update {counts['update']}, "
            f"{verb}delete {counts['delete']}, unchanged {counts['unchanged']}"
        )

    @tasks.command("list")
    @click.option(
        "--tag", "tags", multiple=True, help="Only tasks with this tag (repeatable: all must match)."
    )
    @click.option("--search", "q", help="Only tasks whose name contains this.")
    @json_option
    @click.pass_context
    def list_tasks(ctx: click.Context, tags: tuple[str, ...], q: str | None, as_json: bool) -> None:
        """List your tasks, newest first."""
        with _client(ctx) as client:
            found = list(client.iter_tasks(tags=list(tags) or None, q=q))
        if as_json:
            _print_json(found)
            return
        table = _table("name", "id", "version", "schedule", "tags")
        for task in found:
            schedule = task.get("schedule_cron") if task.get("is_scheduled") else ""
            table.add_row(
                task["name"], task["id"], str(task["version"]), schedule or "", ",".join(task.get("tags", []))
            )
        _console().print(table)

    @tasks.command("get")
    @click.argument("task")
    @json_option
    @click.pass_context
    def get_task(ctx: click.Context, task: str, as_json: bool) -> None:
        """Show a task (by name or id) as a task file, or the API's answer with --json."""
        with _client(ctx) as client:
            found = _find_task(client, task)
        if as_json:
            _print_json(found)
        else:
            click.echo(f"# id {found['id']}, version {found['version']}")
            click.echo(taskfiles.definition_yaml(found), nl=False)

    @tasks.command("delete")
    @click.argument("task")
    @click.pass_context
    def delete_task(ctx: click.Context, task: str) -> None:
        """Delete a task (by name or id); its executions are kept."""
        with _client(ctx) as client:
            found = _find_task(client, task)
            client.delete_task(found["id"], if_match=found["version"])
        click.echo(f"deleted {found['name']}")

    @cli.command()
    @click.argument("task")
    @click.option(
        "--var", "pairs", multiple=True, metavar="KEY=VALUE", help="A template variable (repeatable)."
    )
    @follow_option
    @click.option("--idempotency-key", help="Run at most once for this key (default: a fresh one).")
    @json_option
    @click.pass_context
    def run(
        ctx: click.Context,
        task: str,
        pairs: tuple[str, ...],
        follow: bool,
        idempotency_key: str | None,
        as_json: bool,
    ) -> None:
        """Execute a task (by name or id)."""
        variables = _variables(pairs)
        with _client(ctx) as client:
            found = _find_task(client, task)
            execution = client.execute(found["id"], variables, idempotency_key=idempotency_key)
            _after_start(client, execution, follow=follow, as_json=as_json)

    @cli.group()
    def executions() -> None:
        """Executions: list, show, cancel, rerun."""

    @executions.command("list")
    @click.argument("task")
    @click.option("--status", type=click.Choice(sorted(get_args(ExecutionStatus))))
    @click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
    @json_option
    @click.pass_context
    def list_executions(ctx: click.Context, task: str, status: Any, limit: int, as_json: bool) -> None:
        """A task's executions (by task name or id), newest first."""
        with _client(ctx) as client:
            found = _find_task(client, task)
            items = []
            for execution in client.iter_executions(found["id"], status=status, page_size=min(limit, 100)):
                items.append(execution)
                if len(items) >= limit:
                    break
        if as_json:
            _print_json(items)
            return
        table = _table("id", "status", "trigger", "created", "cost")
        for e in items:
            cost = e.get("cost_usd")
            table.add_row(
                e["id"],
                e["status"],
                e["trigger_type"],
                e["created_at"],
                "" if cost is None else f"${cost:.4f}",
            )
        _console().print(table)

    @executions.command("show")
    @click.argument("execution_id")
    @follow_option
    @json_option
    @click.pass_context
    def show(ctx: click.Context, execution_id: str, follow: bool, as_json: bool) -> None:
        """One execution."""
        with _client(ctx) as client:
            execution = client.get_execution(execution_id)
            if follow:
                _after_start(client, execution, follow=True, as_json=as_json)
                return
        if as_json:
            _print_json(execution)
            return
        _describe(execution)

    @executions.command("cancel")
    @click.argument("execution_id")
    @json_option
    @click.pass_context
    def cancel(ctx: click.Context, execution_id: str, as_json: bool) -> None:
        """Stop a pending or running execution."""
        with _client(ctx) as client:
            execution = client.cancel_execution(execution_id)
        _after_start(client, execution, follow=False, as_json=as_json)

    @executions.command("rerun")
    @click.argument("execution_id")
    @follow_option
    @json_option
    @click.pass_context
    def rerun(ctx: click.Context, execution_id: str, follow: bool, as_json: bool) -> None:
        """Start a new execution with the same variables."""
        with _client(ctx) as client:
            execution = client.rerun_execution(execution_id)
            _after_start(client, execution, follow=follow, as_json=as_json)

    @cli.group()
    def report() -> None:
        """Reports: download."""

    @report.command("download")
    @click.argument("execution_id")
    @click.option(
        "-o",
        "--output",
        type=click.Path(path_type=Path),
        help="File to write (default: <report id>.<format>).",
    )
    @json_option
    @click.pass_context
    def download(ctx: click.Context, execution_id: str, output: Path | None, as_json: bool) -> None:
        """Download an execution's report."""
        with _client(ctx) as client:
            execution = client.get_execution(execution_id)
            report_id = execution.get("report_id")
            if not report_id:
                fail(
                    execution.get("report_note")
                    or f"execution {execution_id} has no report ({execution['status']})"
                )
            metadata, content = client.download_report(report_id)
        extension = {"markdown": "md"}.get(metadata["format"], metadata["format"])
        target = output or Path(f"{report_id}.{extension}")
        target.write_bytes(content)
        if as_json:
            _print_json({**metadata, "path": str(target)})
        else:
            click.echo(f"wrote {target} ({len(content):,} bytes, {metadata['format']})")

    for command in extra_commands:
        cli.add_command(command)
    return cli


def _table(*columns: str) -> Table:
    """A plain table whose ids are never cut short (they are what the next command needs)."""
    table = Table(box=None)
    for column in columns:
        table.add_column(column, no_wrap=True, min_width=36 if column == "id" else None)
    return table


def _describe(execution: models.ExecutionResponse) -> None:
    usage = execution.get("usage") or {}
    rows = [
        ("id", execution["id"]),
        ("task", f"{execution['task_name']} ({execution['task_id']}, version {execution['task_version']})"),
        ("status", execution["status"]),
        ("trigger", execution["trigger_type"]),
        ("created", execution["created_at"]),
        ("messages", str(execution.get("total_messages", 0))),
        ("tool calls", str(execution.get("total_tool_calls", 0))),
        ("tokens", f"{usage.get('input_tokens', 0):,} in / {usage.get('output_tokens', 0):,} out"),
        ("cost", f"${execution['cost_usd']:.4f}" if execution.get("cost_usd") is not None else "unknown"),
        ("error", execution.get("error_message") or ""),
        ("report", execution.get("report_id") or ""),
    ]
    table = Table(show_header=False, box=None)
    for key, value in rows:
        if value:
            table.add_row(key, value)
    _console().print(table)


def _after_start(
    client: AgentTasks, execution: models.ExecutionResponse, *, follow: bool, as_json: bool
) -> None:
    if not follow:
        if as_json:
            _print_json(execution)
        else:
            click.echo(f"{execution['id']} {execution['status']}")
        return
    final = _follow(client, execution["id"], quiet=as_json)
    if as_json:
        _print_json(final)
    if final["status"] != "completed":
        raise click.exceptions.Exit(EXIT_RUN_NOT_COMPLETED)


def _follow(client: AgentTasks, execution_id: str, *, quiet: bool) -> models.ExecutionResponse:
    console = Console(highlight=False, soft_wrap=True, stderr=quiet)
    transcript = following.Transcript()
    status = following.StatusLine(transcript)
    console.print(f"execution {execution_id}", style="dim")
    execution: models.ExecutionResponse | None = None
    with Live(status, console=console, transient=True, refresh_per_second=4):
        for progress in client.follow(execution_id):
            following.update(status, progress, console)
            execution = progress.execution
    assert execution is not None
    console.print(following.summary(execution, transcript))
    return execution


def main(argv: Sequence[str] | None = None) -> int:
    cli = make_cli()
    cli.main(args=list(argv) if argv is not None else None, prog_name="agent-tasks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
