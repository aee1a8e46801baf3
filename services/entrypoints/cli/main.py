"""The `followup` command (contract section 6)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from services.entrypoints.cli.alerts import alerts_app
from services.entrypoints.cli.audit import audit_app
from services.entrypoints.cli.generate import generate as _generate_command
from services.entrypoints.cli.history import backfill as _backfill_command
from services.entrypoints.cli.history import replay as _replay_command
from services.entrypoints.cli.inspections import inspections_app
from services.entrypoints.cli.migrate import migrate as _migrate_command
from services.entrypoints.cli.output import (
    Column,
    FormatOption,
    JsonOption,
    OutputOption,
    chosen,
    emit,
    emit_object,
)
from services.entrypoints.cli.runner import run_with_redis, run_with_redis_only, run_with_redis_url
from services.entrypoints.cli.summary import summary as _summary_command
from services.entrypoints.cli.tokens import tokens_app

# Start-up time: `followup --help` must not pay for SQLAlchemy, Alembic, redis, pydantic's
# event models or the rule engine (about 1.5 s of imports). Typer reads only the commands'
# signatures, so each command imports what it uses; these names are for annotations only.
if TYPE_CHECKING:
    from redis.asyncio import Redis

    from services.platform.runtime import Runtime
    from services.platform.settings import Settings
    from services.rules.pack import Match, Rule
    from services.tracker.publishing import PublishReport

app = typer.Typer(
    help="Followup: tracked obligations for CPS casework and inspection follow-up.",
    no_args_is_help=True,
    # Failures are told in one line by main(); a traceback only with --debug.
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()
T = TypeVar("T")

STATES = ("open", "met", "met-late", "lapsed", "cancelled")


def main() -> None:
    """The `followup` command: every failure one line and a documented exit code
    (services/entrypoints/cli/failures.py), unless --debug asks for the traceback."""
    from services.entrypoints.cli.failures import describe
    from services.platform.private_files import keep_private

    keep_private()  # the data folder is the owner's alone; before anything writes to it
    args = sys.argv[1:]
    debug = "--debug" in args
    try:
        app(args=[arg for arg in args if arg != "--debug"], prog_name="followup")
    except Exception as error:
        if debug:
            raise
        code, line = describe(error)
        err.print(f"followup: {line}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(code)


def _version(shown: bool) -> None:
    if shown:
        from importlib.metadata import version

        out.print(f"followup {version('followup')}", highlight=False)
        raise typer.Exit()


@app.callback()
def root(
    _show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    _debug: Annotated[
        bool, typer.Option("--debug", help="On a failure, print the traceback.")
    ] = False,
) -> None:
    """Followup: tracked obligations for CPS casework and inspection follow-up."""


@app.command()
def serve(
    port: Annotated[
        int | None, typer.Option(help="HTTP port (default FOLLOWUP_HTTP_PORT).")
    ] = None,
    http: Annotated[bool, typer.Option(help="Serve the HTTP API.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, help="Consumer processes sharing the work (PostgreSQL).")
    ] = 1,
) -> None:
    """Run every consumer and the HTTP API until stopped (SIGINT or SIGTERM): status 0; if a
    part of it stops or keeps failing, status 1."""
    import signal

    # Until the app takes SIGTERM over, a stop asked for while starting (a supervisor, or the
    # worker pool stopping a worker it has just started) is a clean stop, not a kill.
    signal.signal(signal.SIGTERM, _stopped_while_starting)
    from schemas.db import is_sqlite
    from services.entrypoints.app import ServeApp, build_app, run_serve
    from services.entrypoints.cli.runner import wait_until_reachable
    from services.entrypoints.workers import WorkerPool
    from services.platform.settings import Settings

    settings = Settings()
    if port is not None:
        settings = settings.model_copy(update={"http_port": port})
    if workers > 1:
        # The workers share the cores already: each decodes its own batches (so do the
        # children, told by WorkerPool), rather than each starting a decoding helper.
        settings = settings.model_copy(update={"decode_helper": False})
    if http:
        _port_free(settings.http_host, settings.http_port)
    single_writer = None
    if is_sqlite(settings.sqlalchemy_url()):
        if workers > 1:
            raise typer.BadParameter(
                "SQLite has a single writer: set FOLLOWUP_DATABASE_URL to a PostgreSQL "
                "database to run more than one worker"
            )
        single_writer = _one_writer(settings)

    started: list[ServeApp] = []

    def build(runtime: Runtime, url: str) -> ServeApp:
        application = build_app(runtime, url, http=http)
        if workers > 1:
            pool = WorkerPool(workers - 1, on_failure=application.fail)
            application.add_check(pool.problems)
            application.after_startup(pool.start)
            application.on_shutdown(pool.stop)
        return application

    async def start(runtime: Runtime, url: str) -> None:
        started.append(
            await run_serve(
                lambda: build(runtime, url),
                reachable=lambda: wait_until_reachable(settings, url),
            )
        )

    try:
        # The one writer of a SQLite database: it copies the write-ahead log back in the
        # background, and its connection works on the event loop's thread.
        run_with_redis_url(settings, start, sole_writer=True, wait=True)
    finally:
        if single_writer:
            single_writer.close()
    # A part that stopped stops `serve` with status 1, so that a supervisor restarts it.
    if started and (failure := started[0].failure):
        err.print(f"serve stopped: {failure}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


def _stopped_while_starting(_signal: int, _frame: object) -> None:
    raise SystemExit(0)


def _port_free(host: str, port: int) -> None:
    """Refuse a busy HTTP port before anything starts (the embedded Redis among them)."""
    import socket

    from services.entrypoints.cli.failures import Unavailable

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise Unavailable(
                f"HTTP port {host}:{port} cannot be used ({error.strerror}): set "
                "FOLLOWUP_HTTP_PORT (or --port) to a free port, or stop what holds it"
            ) from None


def _one_writer(settings: Settings) -> Any:
    """Hold the SQLite database for this `serve`: a second one would race it."""
    import fcntl

    from sqlalchemy.engine import make_url

    database = make_url(settings.sqlalchemy_url()).database or ""
    if not database or database == ":memory:":
        return None
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    handle = Path(f"{database}.serve.lock").open("w")  # noqa: SIM115  (held until exit)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        err.print(
            f"another `followup serve` is writing to {database}; SQLite has a single writer: "
            "set FOLLOWUP_DATABASE_URL to PostgreSQL to run more than one",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    return handle


@app.command()
def publish(
    file: Annotated[str, typer.Argument(help="A JSON Lines file of CloudEvents, or - for stdin.")],
    from_line: Annotated[
        int,
        typer.Option(
            "--from-line",
            min=1,
            help="Skip the lines before this one (numbers stay those of the file): to resume "
            "where a stopped publish said.",
        ),
    ] = 1,
) -> None:
    """Validate each line and publish the valid ones; report and keep every rejected line.
    Exits 1 if any line was rejected, 4 if stopped before the end (resume with --from-line)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from services.entrypoints.cli.failures import ExitCode
    from services.platform.runtime import LazyDatabase
    from services.platform.settings import Settings
    from services.tracker.line_reader import read_lines
    from services.tracker.publishing import PublishStopped, publish_input

    settings = Settings()
    handle = sys.stdin.buffer if file == "-" else _open_or_fail(file)
    lines = read_lines(handle, max_bytes=settings.max_event_bytes, from_line=from_line)
    # Counting means reading the file twice: only worth it when a bar will be shown.
    total = _count_lines(file) if err.is_terminal and file != "-" else None
    stopped: PublishStopped | None = None
    with Progress(
        TextColumn("publishing"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("publish", total=total, completed=from_line - 1)

        async def work(redis: Redis) -> PublishReport:
            database = LazyDatabase(settings)
            try:
                return await publish_input(
                    settings=settings,
                    redis=redis,
                    lines=lines,
                    database=database,
                    from_line=from_line,
                    on_progress=lambda n: progress.advance(task, n),
                )
            finally:
                await database.aclose()

        try:
            report = run_with_redis_only(settings, work)
        except PublishStopped as stop:
            stopped, report = stop, stop.report
    _print_rejections(report)
    before = "" if stopped is None else f"before line {stopped.resume_from}: "
    err.print(
        f"{before}published {report.published} events to {settings.events_stream}; "
        f"rejected {report.rejected_lines} lines (kept as dead letters)",
        highlight=False,
        soft_wrap=True,
    )
    if stopped is not None:
        err.print(
            f"stopped at line {stopped.resume_from}: {stopped.why}; resume with "
            f"`followup publish {file} --from-line {stopped.resume_from}`",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(ExitCode.INFRASTRUCTURE)
    if report.rejected_lines:
        raise typer.Exit(ExitCode.CHECK_FAILED)


def _print_rejections(report: PublishReport) -> None:
    for dead in report.rejected:
        where = f"{dead.field}: " if dead.field else ""
        err.print(
            f"line {dead.line}: rejected: {where}{dead.reason}", highlight=False, markup=False
        )
    if (more := report.rejected_lines - len(report.rejected)) > 0:
        err.print(
            f"and {more} more rejected lines: see `followup dead-letters list`", highlight=False
        )


@app.command()
def status(
    fmt: FormatOption = "table", as_json: JsonOption = False, output: OutputOption = None
) -> None:
    """Lag (events published but not yet applied) and the dead-letter count."""
    from services.platform.settings import Settings
    from services.tracker.metrics import read_status

    fmt = chosen(fmt, as_json)
    result = run_with_redis(
        Settings(),
        lambda runtime, redis: read_status(runtime=runtime, redis=redis),
        read_only=True,
    )
    if fmt != "table":
        emit_object(result, fmt=fmt, output=output)
        return
    out.print(
        f"lag: {result['lag']}   dead letters: {result['dead_letters']} "
        f"(conflicts: {result['conflicts']})"
    )


@app.command()
def obligations(
    fmt: FormatOption = "table",
    as_json: JsonOption = False,
    output: OutputOption = None,
    state: Annotated[str | None, typer.Option(help=f"One of {', '.join(STATES)}.")] = None,
    rule: Annotated[str | None, typer.Option(help="Rule id, e.g. victim-letter.")] = None,
    urn: Annotated[str | None, typer.Option(help="Case URN.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            help="Judge lapses as of this date (YYYY-MM-DD); default today in Europe/London."
        ),
    ] = None,
) -> None:
    """List obligations with their due dates and states."""
    from services.entrypoints.cli.as_of import as_of_day
    from services.platform.settings import Settings
    from services.tracker.queries import list_obligations

    fmt = chosen(fmt, as_json)
    if state is not None and state not in STATES:
        raise typer.BadParameter(f"--state must be one of {', '.join(STATES)}, not {state!r}")
    today = as_of_day(as_of)

    async def work(runtime: Runtime, _redis: Redis) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            return await list_obligations(
                session=session, today=today, state=state, rule=rule, urn=urn
            )

    rows = run_with_redis(Settings(), work, read_only=True)
    emit(rows, OBLIGATION_COLUMNS, fmt=fmt, output=output)


_STATE_COLOURS = {"met": "green", "met-late": "yellow", "lapsed": "red", "cancelled": "dim"}
OBLIGATION_COLUMNS: list[Column] = [
    ("id", lambda row: row["id"]),
    ("owner", lambda row: row["owner"] or "-"),
    ("due", lambda row: row["due"]),
    ("state", lambda row: Text(row["state"], style=_STATE_COLOURS.get(row["state"], ""))),
    ("closed on", lambda row: row["closed_on"] or ""),
]


@app.command()
def demo(
    as_of: Annotated[
        str, typer.Option(help="Judge lapses as of this date (YYYY-MM-DD).")
    ] = "2017-08-04",
    summary: Annotated[
        Path | None,
        typer.Option(help="Also write the last week's summary (2017-W30, HTML) to this file."),
    ] = None,
    weeks: Annotated[
        int, typer.Option(min=1, max=26, help="Weeks to simulate, the last ending 30 July 2017.")
    ] = 8,
    scale: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="The Area's share of its national caseload.")
    ] = 0.06,
) -> None:
    """Simulate weeks of Thames and Chiltern casework (June and July 2017) through the real
    pipeline with the clock stepped day by day: lapses alerted by email, weekly summaries sent,
    packs written; then say where to look."""
    from services.entrypoints.cli.as_of import as_of_day
    from services.entrypoints.demo.live import run_live
    from services.entrypoints.demo.plan import demo_plan
    from services.entrypoints.demo.report import render, where_to_look
    from services.entrypoints.demo.run import DemoFailed
    from services.platform.settings import Settings

    today = as_of_day(as_of)
    settings = Settings()
    if "log_level" not in settings.model_fields_set:
        # The report is the output, not the logs: an alert nobody on record can receive (a seed
        # commitment owned at headquarters) is in `followup alerts` and the packs.
        settings = settings.model_copy(update={"log_level": "CRITICAL"})
    # The demo drives the lapse clock, its alert delivery and the weekly summaries itself, on
    # its own clock (docs/contract.md section 6, "Added: the demo"): not the consumer's loops
    # on the wall clock. Its batches are small: decoded on the event loop, without a helper.
    settings = settings.model_copy(
        update={"summary_schedule": False, "alerts_enabled": False, "decode_helper": False}
    )
    plan = demo_plan(weeks=weeks, scale=scale)
    try:
        result = run_live(err, settings, plan=plan, as_of=today)
    except DemoFailed as error:
        err.print(f"demo failed: {error}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    render(out, result)
    from services.entrypoints.cli.packs import print_demo_packs

    packs = print_demo_packs(out, settings, as_of=today)
    if summary is not None:
        from services.entrypoints.cli.summary import write_demo_summary

        write_demo_summary(settings, as_of=today, path=summary)
        out.print(f"Weekly summary for the DCCP: {summary}", highlight=False, soft_wrap=True)
    where_to_look(out, result, settings=settings, packs=packs)


@app.command()
def explain(
    obligation_id: Annotated[
        str,
        typer.Argument(
            help="Obligation id (victim-letter/URN/V1) or its reference from an email or "
            "alert (ob-0123456789abcdef)."
        ),
    ],
    fmt: FormatOption = "table",
    as_json: JsonOption = False,
    output: OutputOption = None,
    as_of: Annotated[
        str | None, typer.Option(help="Judge lapses as of this date (YYYY-MM-DD).")
    ] = None,
) -> None:
    """How an obligation's due date was computed, its warnings, and every change to it."""
    from services.entrypoints.cli.as_of import as_of_day
    from services.entrypoints.cli.failures import NotFound
    from services.platform.settings import Settings
    from services.tracker.queries import explain_obligation, obligation_ids_like

    today = as_of_day(as_of)

    async def work(runtime: Runtime, _redis: Redis) -> dict[str, Any]:
        async with runtime.sessions() as session:
            found = await explain_obligation(
                session=session,
                obligation_id=obligation_id,
                today=today,
                rules=runtime.rules,
                calendar=runtime.calendar,
            )
            if found is None:
                like = await obligation_ids_like(session=session, obligation_id=obligation_id)
                raise NotFound("obligation", obligation_id, like)
            return found

    fmt = chosen(fmt, as_json)
    found = run_with_redis(Settings(), work, read_only=True)
    if fmt != "table":
        emit_object(found, fmt=fmt, output=output)
        return
    render_explanation(out, found)


def render_explanation(console: Console, found: dict[str, Any]) -> None:
    closed = f", closed on {found['closed_on']}" if found["closed_on"] else ""
    console.print(
        f"[bold]{found['id']}[/] ({found['obligation_ref']}): {found['state']}, "
        f"due {found['due']}{closed}"
    )
    unconfirmed = " (interval not confirmed by guidance)" if found["unconfirmed"] else ""
    console.print(f"rule: {found['title']} [{found['rule']}]{unconfirmed}", markup=False)
    console.print(f"source: {found['source']}", markup=False, highlight=False)
    console.print(
        f"owner: {found['owner'] or '-'}   area: {found['area'] or '-'}   "
        f"opened by event: {found['opened_by']}",
        markup=False,
    )
    console.print(f"explanation: {found['explanation']}", markup=False, highlight=False)
    for warning in found["warnings"]:
        console.print(
            f"warning: {warning['on']} ({warning['working_days_before']} working days before due)"
        )
    console.print("history:")
    for change in found["history"]:
        due = change["due_after"] or ""
        if change["due_before"] and change["due_before"] != change["due_after"]:
            due = f"{change['due_before']} -> {due}"
        state = change["state_after"] or "removed"
        if change["state_before"] and change["state_before"] != change["state_after"]:
            state = f"{change['state_before']} -> {state}"
        console.print(
            f"  {change['at'][:19]}  {change['kind']}: due {due}, {state}; "
            f"caused by {', '.join(change['caused_by'])}",
            markup=False,
            highlight=False,
        )


rules_app = typer.Typer(help="Rule packs: validate an Area's file, list the active rules.")
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def rules_check(file: Annotated[Path, typer.Argument(help="A rule pack (YAML).")]) -> None:
    """Validate a rule pack; report each error with its rule and field (exit 1 if any)."""
    rules = _pack_or_exit(file)
    print_rules(out, rules)
    out.print(f"{file}: {len(rules)} rules, no errors", highlight=False)


@rules_app.command("list")
def rules_list(
    fmt: FormatOption = "table", as_json: JsonOption = False, output: OutputOption = None
) -> None:
    """The active rule pack (FOLLOWUP_RULE_PACK, or the shipped default)."""
    from services.platform.settings import Settings

    fmt = chosen(fmt, as_json)
    rules = _pack_or_exit(Settings().rule_pack)
    if fmt == "table" and output is None:
        print_rules(out, rules)
        return
    rows = [
        {
            "id": rule.id,
            "title": rule.title,
            "source": rule.source,
            "unconfirmed": rule.unconfirmed,
            "opened_by": _matched(rule.opens),
            "due": str(rule.due),
            "closed_by": [_matched(m) for m in rule.closes],
            "cancelled_by": [_matched(m) for m in rule.cancels],
            "warnings": list(rule.warnings),
        }
        for rule in rules
    ]
    emit(rows, RULE_COLUMNS, fmt=fmt, output=output)


RULE_COLUMNS: list[Column] = [
    ("id", lambda row: row["id"]),
    ("title", lambda row: row["title"]),
    ("due", lambda row: row["due"]),
    ("unconfirmed", lambda row: "yes" if row["unconfirmed"] else ""),
]


def _pack_or_exit(path: Path | None) -> tuple[Rule, ...]:
    """The rule pack at `path` (or the default), or every problem printed and exit 1."""
    from services.rules.packfile import RulePackError, load_pack

    try:
        return load_pack(path)
    except RulePackError as error:
        for problem in error.problems:
            err.print(problem, highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1) from None


def print_rules(console: Console, rules: Sequence[Rule]) -> None:
    for rule in rules:
        flag = "  [yellow](interval not confirmed by guidance)[/]" if rule.unconfirmed else ""
        console.print(f"[bold]{rule.id}[/]: {rule.title}{flag}", highlight=False)
        due = "; ".join([str(rule.due), *(f"{d} when {_when(c)}" for c, d in rule.due_when)])
        lines = [
            f"opened by {_matched(rule.opens)}",
            f"due {due}",
            "closed by " + "; ".join(_matched(m) for m in rule.closes),
        ]
        if rule.due_from:
            lines.insert(2, f"  dated by the latest {_matched(rule.due_from)}")
        lines += [f"renewed by {_matched(r.match)}, due {r.due}" for r in rule.renews]
        if rule.cancels:
            lines.append("cancelled by " + "; ".join(_matched(m) for m in rule.cancels))
        if rule.warnings:
            lines.append(f"warnings {', '.join(map(str, rule.warnings))} working days before due")
        for line in lines:
            console.print(f"  {line}", highlight=False, markup=False)


def _matched(match: Match) -> str:
    same = f" with the same {', '.join(match.same)}" if match.same else ""
    latest = " (its latest)" if match.latest else ""
    return match.type + same + (f" when {_when(match.when)}" if match.when else "") + latest


def _when(condition: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in condition.items())


dead_app = typer.Typer(
    help="The dead-letter store: events that could not be accepted, with the reason."
)
app.add_typer(dead_app, name="dead-letters")
app.add_typer(audit_app, name="audit")
app.add_typer(inspections_app, name="inspections")


@dead_app.command("list")
def dead_letters_list(
    status: Annotated[str, typer.Option(help="dead, replayed, discarded, or all.")] = "dead",
    fmt: FormatOption = "table",
    as_json: JsonOption = False,
    output: OutputOption = None,
) -> None:
    """Dead letters with their origin and reason (default: those still dead)."""
    from services.platform.settings import Settings
    from services.tracker.dead_letters import STATUSES, dead_letter_json, list_dead_letters

    fmt = chosen(fmt, as_json)
    if status != "all" and status not in STATUSES:
        raise typer.BadParameter(f"--status must be all or one of {', '.join(STATUSES)}")

    async def work(runtime: Runtime, _redis: Redis) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            letters = await list_dead_letters(
                session=session, status=None if status == "all" else status
            )
        return [dead_letter_json(letter) for letter in letters]

    rows = run_with_redis(Settings(), work, read_only=True)
    footer = f"{len(rows)} dead letters" + ("" if status == "all" else f" ({status})")
    emit(rows, DEAD_LETTER_COLUMNS, fmt=fmt, output=output, footer=footer)


DEAD_LETTER_COLUMNS: list[Column] = [
    ("id", lambda row: str(row["id"])),
    ("status", lambda row: row["status"]),
    ("from", lambda row: f"{row['origin']} {_dead_letter_where(row)}"),
    ("received", lambda row: row["received_at"][:19]),
    ("field", lambda row: row["field"] or "-"),
    ("reason", lambda row: row["reason"]),
]


def _dead_letter_where(row: Mapping[str, Any]) -> str:
    if row["line"]:
        return f"line {row['line']}"
    if row["stream_entry_id"]:
        return f"entry {row['stream_entry_id']}"
    return f"event {row['event_source']} {row['event_id']}"  # a conflict: by its key


@dead_app.command("show")
def dead_letters_show(
    letter_id: Annotated[int, typer.Argument(help="Dead-letter id (from `list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One dead letter with the raw input as received (a conflict: with the stored content,
    which stands)."""
    from services.platform.settings import Settings
    from services.tracker.dead_letters import dead_letter_json, get_dead_letters

    async def work(runtime: Runtime, _redis: Redis) -> list[dict[str, Any]]:
        async with runtime.sessions() as session:
            letters = await get_dead_letters(session=session, ids=[letter_id])
        return [dead_letter_json(letter, raw=True) for letter in letters]

    found = run_with_redis(Settings(), work, read_only=True)
    if not found:
        err.print(f"no dead letter {letter_id}", highlight=False)
        raise typer.Exit(1)
    [letter] = found
    if as_json:
        sys.stdout.write(json.dumps(letter, indent=2) + "\n")
        return
    for name, value in letter.items():
        if name not in ("raw", "stored") and value is not None:
            out.print(f"{name}: {value}", markup=False, highlight=False)
    out.print("raw:", markup=False)
    sys.stdout.write(letter["raw"] + "\n")
    if "stored" in letter:
        out.print("stored (this stands):", markup=False)
        sys.stdout.write(letter["stored"] + "\n")


@dead_app.command("replay")
def dead_letters_replay(
    letter_ids: Annotated[
        list[int] | None, typer.Argument(help="Dead-letter ids; none with --all.")
    ] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
) -> None:
    """Validate again and publish the ones that now pass (after a fix); each is applied
    exactly once. Exits 1 if any is still rejected or not found."""
    from services.platform.settings import Settings
    from services.tracker.dead_letters import replay_dead_letters

    if bool(letter_ids) == replay_all:
        raise typer.BadParameter("give dead-letter ids, or --all (not both)")
    report = run_with_redis(
        Settings(),
        lambda runtime, redis: replay_dead_letters(
            runtime=runtime, redis=redis, ids=None if replay_all else letter_ids
        ),
    )
    for letter_id, reason in report.rejected.items():
        err.print(f"dead letter {letter_id}: still rejected: {reason}", highlight=False)
    for letter_id, why in report.skipped.items():
        err.print(f"dead letter {letter_id}: skipped: {why}", highlight=False)
    out.print(f"replayed {len(report.replayed)} dead letters", highlight=False)
    if report.rejected or report.skipped:
        raise typer.Exit(1)


@dead_app.command("discard")
def dead_letters_discard(
    letter_ids: Annotated[list[int], typer.Argument(help="Dead-letter ids.")],
) -> None:
    """Mark dead letters as looked at and not to be replayed (they are kept, not deleted)."""
    from services.platform.settings import Settings
    from services.tracker.dead_letters import get_dead_letters, set_status

    async def work(runtime: Runtime, _redis: Redis) -> list[int]:
        async with runtime.sessions() as session, session.begin():
            found = [
                letter.id
                for letter in await get_dead_letters(session=session, ids=letter_ids)
                if letter.id is not None and letter.status == "dead"
            ]
            await set_status(session=session, ids=found, status="discarded")
        return found

    done = run_with_redis(Settings(), work)
    for letter_id in sorted(set(letter_ids) - set(done)):
        err.print(f"dead letter {letter_id}: not found or not dead", highlight=False)
    out.print(f"discarded {len(done)} dead letters", highlight=False)
    if len(done) != len(set(letter_ids)):
        raise typer.Exit(1)


app.command("summary")(_summary_command)
app.command("backfill")(_backfill_command)
app.command("replay")(_replay_command)
app.command("migrate")(_migrate_command)
app.command("generate")(_generate_command)


@app.command()
def doctor() -> None:
    """Check settings, database, migrations, Redis, rule pack, mail and the lapse clock's
    cursor: each OK or what is wrong. Exit 1 if any is wrong. Changes nothing."""
    from services.entrypoints.cli.doctor import examine
    from services.platform.clock import now
    from services.platform.settings import Settings

    findings = examine(Settings(), now=now())
    marks = {"ok": "[green]OK  [/]", "warn": "[yellow]WARN[/]", "fail": "[red]FAIL[/]"}
    for finding in findings:
        out.print(f"{marks[finding.verdict]} {finding.part}: ", end="")
        out.print(finding.detail, highlight=False, markup=False, soft_wrap=True)
    if any(finding.verdict == "fail" for finding in findings):
        raise typer.Exit(1)


@app.command()
def schema() -> None:
    """Print the JSON Schema of every event type."""
    from events import json_schemas

    sys.stdout.write(json.dumps(json_schemas(), indent=2) + "\n")


def _open_or_fail(file: str) -> Any:
    try:
        return Path(file).open("rb")
    except OSError as error:
        raise typer.BadParameter(f"cannot read {file}: {error.strerror}") from error


def _count_lines(file: str) -> int:
    """Lines, counted in blocks: a line, however long, is never held whole."""
    count, last = 0, b"\n"
    with Path(file).open("rb") as handle:
        while block := handle.read(1 << 20):
            count, last = count + block.count(b"\n"), block[-1:]
    return count + (last != b"\n")


app.add_typer(alerts_app, name="alerts")
app.add_typer(tokens_app, name="tokens")

if __name__ == "__main__":
    main()
