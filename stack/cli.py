"""`rta`: run the local stack of real engines (Kafka, Flink, Pinot) on 127.0.0.1."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from types import FrameType
from typing import Annotated

import httpx
import typer
from kafka.errors import KafkaError
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from api import auth
from core.settings import ApiKey, get_settings
from provisioning.pinot_tables import PinotTableError
from query import topics as kafka_topics
from stack import backfill as backfill_module
from stack import codegen, provision, recovery
from stack.engines.base import EngineStartError
from stack.manager import ENGINE_NAMES, EngineStatus, Stack
from stack.process import ProcessHealth, SupervisorError
from toolchain.java import JavaNotFoundError

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console()
err = Console(stderr=True)

EngineOpt = Annotated[
    list[str] | None,
    typer.Argument(help=f"Engines to act on ({', '.join(ENGINE_NAMES)}); default all.", show_default=False),
]


def _stack() -> Stack:
    try:
        return Stack(get_settings())
    except JavaNotFoundError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


def _print_status(statuses: list[EngineStatus], stack: Stack | None = None) -> bool:
    """The engines' table and URLs, and the supervisor's line; False if it gave up on a process."""
    health = stack.health() if stack else {}
    table = Table(title=f"stack in {get_settings().run_dir}")
    for col in ("engine", "process", "pid", "RSS", "restarts", "last exit", "ready", "detail"):
        table.add_column(col, overflow="fold")
    for st in statuses:
        for i, (name, proc) in enumerate(st.processes.items()):
            rss = f"{proc.rss_bytes() / 2**20:,.0f} MiB" if proc else "-"
            ready = ("[green]yes[/green]" if st.ready else "[red]no[/red]") if i == 0 else ""
            h = health.get(name)
            pid = str(proc.pid) if proc else "stopped"
            if h is not None and h.status == "gave_up":
                pid = "[red]gave up[/red]"
            elif proc is None and h is not None and h.status == "backoff":
                pid = "[yellow]restarting[/yellow]"
            table.add_row(
                st.name if i == 0 else "",
                name,
                pid,
                rss,
                str(h.restarts) if h else "-",
                _last_exit(h),
                ready,
                st.probe.detail if i == 0 else "",
            )
    console.print(table)
    urls = {k: v for st in statuses for k, v in st.urls.items()}
    for label, url in urls.items():
        console.print(f"  {label:20} {url}")
    if stack is None:
        return True
    daemon = stack.daemon()
    if daemon is None:
        console.print("  [red]supervisor: not running[/red] (nothing restarts a crashed process; `rta up`)")
    else:
        console.print(
            f"  supervisor           pid {daemon.pid}; restarts crashed processes (`rta logs supervisor`)"
        )
    gave_up = [h for h in health.values() if h.status == "gave_up"]
    for h in gave_up:
        err.print(
            f"the supervisor gave up on {h.name}: {h.last_exit}; read `rta logs {h.name}`, then `rta up`",
            style="red",
            markup=False,
        )
    return not gave_up


def _last_exit(h: ProcessHealth | None) -> str:
    if h is None or h.last_exit is None:
        return "-"
    ago = f" ({time.time() - h.last_exit_at:,.0f}s ago)" if h.last_exit_at else ""
    return f"{h.last_exit}{ago}"


@app.command()
def up(
    engines: EngineOpt = None,
    pipeline: Annotated[
        bool, typer.Option(help="Also create topics and tables and run the pipeline job (all engines only).")
    ] = True,
) -> None:
    """Start the engines (all by default), wait until each is ready, then provision; safe to call twice."""
    stack = _stack()
    started = time.monotonic()
    try:
        statuses = stack.up(engines)
    except (EngineStartError, SupervisorError) as exc:
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(1) from exc
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_status(statuses, stack)
    console.print(f"engines ready in {time.monotonic() - started:.1f}s")
    if pipeline and not engines:
        _provision(fresh=False)


def _provision(fresh: bool, pipeline: bool = True) -> None:
    started = time.monotonic()
    try:
        state = provision.provision(get_settings(), fresh=fresh, pipeline=pipeline)
    except (httpx.HTTPError, KafkaError, PinotTableError, provision.ProvisionError) as exc:
        err.print(f"[red]provisioning failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    console.print("topics and Pinot tables in place")
    if state is not None:
        restored = f" from {state.restored_from}" if state.restored_from else ""
        console.print(f"pipeline job {state.job_id} {state.action}{restored}")
    console.print(f"provisioned in {time.monotonic() - started:.1f}s")


@app.command("provision")
def provision_command(
    fresh: Annotated[
        bool,
        typer.Option(help="Changed SQL: replace the job by one without its state, at its committed offsets"),
    ] = False,
    pipeline: Annotated[
        bool, typer.Option(help="Also run the pipeline job (--no-pipeline: topics and tables).")
    ] = True,
) -> None:
    """Create the topics and Pinot tables and run the pipeline job, unless they already are (idempotent)."""
    _provision(fresh, pipeline)


def _interrupt(signum: int, _: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """SIGTERM and SIGINT interrupt the command, so it cleans up as after Ctrl-C: a service manager
    stops with SIGTERM, and a process started with `&` by a shell script ignores SIGINT."""
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant with its UTC offset (`2026-11-30T08:00:00+00:00`, or a trailing Z)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date and time") from exc
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{value!r} has no UTC offset; add one, e.g. +00:00 or Z")
    return moment


@app.command()
def backfill(
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Rebuild only the rows whose newest event time is at or after this instant (ISO 8601 "
            "with offset, at least RTA_MAX_LATENESS_S ago) and keep the older rows as served.",
        ),
    ] = None,
    keep_previous: Annotated[
        bool, typer.Option(help="Keep the old generation's tables and topics (its job stops either way).")
    ] = False,
    allow_history_loss: Annotated[
        bool,
        typer.Option(help="Rebuild even though retention has deleted the raw topic's oldest records."),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the new generation to catch up.", min=1)
    ] = 7200.0,
) -> None:
    """Recompute every metric from the raw topic into a new generation beside the served one, then
    switch the API to it at once (after a change to the job's SQL, or to rebuild: docs/pipeline.md)."""
    since = _instant(from_)
    started = time.monotonic()
    try:
        with _stoppable():
            done = backfill_module.backfill(
                get_settings(),
                since=since,
                keep_previous=keep_previous,
                allow_history_loss=allow_history_loss,
                timeout_s=timeout,
                progress=console.print,
            )
    except KeyboardInterrupt as exc:
        err.print(
            "backfill interrupted before the switch: its job was cancelled; the served generation "
            "is unchanged",
            style="yellow",
            markup=False,
        )
        raise typer.Exit(130) from exc
    except backfill_module.CleanupError as exc:
        err.print(str(exc), style="yellow", markup=False)
        raise typer.Exit(1) from exc
    except (httpx.HTTPError, KafkaError, PinotTableError, backfill_module.BackfillError) as exc:
        err.print(f"backfill failed: {exc}", style="red", markup=False)
        raise typer.Exit(1) from exc
    console.print(
        f"generation {done.generation.number} served (job {done.job_id}): the job caught up in "
        f"{done.job_caught_up_s:.1f} s, Pinot {done.pinot_caught_up_s:.1f} s after; "
        f"{time.monotonic() - started:.0f} s in all"
    )


@app.command()
def generate(
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; list stale files and exit 1 if any.")
    ] = False,
) -> None:
    """Write the Flink SQL and Pinot files that follow from core/ (the dataset registry and models)."""
    if check:
        stale = codegen.stale()
        for name in stale:
            err.print(f"[red]stale[/red] {name}")
        if stale:
            err.print("run `rta generate` (or `make generate`) and commit the result")
            raise typer.Exit(1)
        console.print("generated files are up to date")
        return
    console.print(f"wrote {codegen.write()} generated files")


@app.command()
def down(engines: EngineOpt = None) -> None:
    """Stop the engines (all by default) by PID; nothing is left running."""
    try:
        stopped = _stack().down(engines)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command()
def status(engines: EngineOpt = None) -> None:
    """Show each engine's processes, memory, restarts, last exit and readiness, and the pipeline job's
    state, restarts and newest failure; exits 1 unless all engines are ready and none was given up on."""
    stack = _stack()
    try:
        statuses = stack.status(engines)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    supervised = _print_status(statuses, stack)
    flink = next((st for st in statuses if st.name == "flink"), None)
    if flink is not None and flink.ready:
        served = provision.serving(get_settings())
        if served.number:
            console.print(f"serving generation {served.number} (rebuilt by `rta backfill`)")
        _print_pipeline(served.job_name)
    if not all(st.ready for st in statuses) or not supervised:
        raise typer.Exit(1)


def _print_pipeline(job_name: str) -> None:
    """The pipeline job's state and restarts; after a failure its newest exception, the raw record
    it names and the `rta skip` command that sets that record aside (docs/pipeline.md)."""
    settings = get_settings()
    try:
        job = recovery.current_job(settings, job_name)
        if job is None:
            console.print(f"pipeline job {job_name}: not running (`rta provision` starts it)")
            return
        job_id, state = job
        failed = recovery.failure(settings, job_id)
        restarts = failed.restarts if failed else recovery.restarts(settings, job_id) or 0
    except httpx.HTTPError as exc:
        err.print(f"pipeline job {job_name}: Flink did not answer ({exc})", style="yellow", markup=False)
        return
    colour = "green" if state == "RUNNING" and not failed else "red"
    console.print(
        f"pipeline job {job_name} ({job_id}): [{colour}]{state}[/{colour}], "
        f"{restarts} restart{'' if restarts == 1 else 's'}"
    )
    if failed is None:
        return
    when = f" ({time.time() - failed.timestamp_ms / 1000:,.0f}s ago)" if failed.timestamp_ms else ""
    console.print(
        f"  newest exception{when}: {failed.exception}: {failed.message}", markup=False, soft_wrap=True
    )
    if failed.cause:
        console.print(f"  caused by: {failed.cause}", markup=False, soft_wrap=True)
    command = recovery.skip_command(failed, job_name)
    if command is None:
        console.print(
            "  the exception names no raw record; see it in the Flink dashboard, and if one record is to "
            "blame, `rta skip --partition P --offset O` sets it aside (docs/pipeline.md)"
        )
        return
    console.print(f"  record: partition {failed.partition} offset {failed.offset}")
    if not failed.ongoing:
        console.print("  the job has checkpointed since that failure: it got past the record")
        return
    console.print(f"  to dead-letter it and resume past it: {command}", markup=False, soft_wrap=True)


@app.command()
def skip(
    partition: Annotated[
        int | None,
        typer.Option(help="Raw topic partition of the record (default: the newest failure's).", min=0),
    ] = None,
    offset: Annotated[
        int | None, typer.Option(help="Offset of the record (default: the newest failure's).", min=0)
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(
            help="Why, for its dead letter (default: the failure's cause, else 'set aside with rta skip')."
        ),
    ] = None,
    job: Annotated[
        str | None, typer.Option(help="The job's name (default: the one writing what the API serves).")
    ] = None,
) -> None:
    """Dead-letter one raw record that stops the job, and resume the job past it from its newest
    checkpoint: nothing else is lost or doubled (docs/pipeline.md, "A record that stops the job")."""
    settings = get_settings()
    if (partition is None) != (offset is None):
        err.print("[red]give both --partition and --offset, or neither (the newest failure's record)[/red]")
        raise typer.Exit(2)
    started = time.monotonic()
    job = job or provision.serving(settings).job_name
    try:
        if partition is None or offset is None:
            current = recovery.current_job(settings, job)
            failed = recovery.failure(settings, current[0]) if current else None
            if failed is None or failed.record is None:
                newest = f" (newest exception: {failed.exception}: {failed.message})" if failed else ""
                err.print(
                    f"no failure of {job} names a record{newest}; give --partition and --offset",
                    style="red",
                    markup=False,
                )
                raise typer.Exit(1)
            if not failed.ongoing:
                err.print(
                    f"{job} has checkpointed since its newest failure (on partition {failed.record[0]} "
                    f"offset {failed.record[1]}): it is not stuck; give --partition and --offset to skip "
                    "a record anyway",
                    style="red",
                    markup=False,
                )
                raise typer.Exit(1)
            partition, offset = failed.record
            reason = reason or f"the job failed on it: {failed.cause or failed.message}"[:500]
        done = recovery.skip(settings, job, partition, offset, reason or "set aside with rta skip")
    except (httpx.HTTPError, recovery.SkipError, provision.ProvisionError, ValueError) as exc:
        err.print(f"skip failed: {exc}", style="red", markup=False)
        raise typer.Exit(1) from exc
    for cancelled in done.cancelled:
        console.print(f"cancelled job {cancelled}")
    q = done.quarantined
    already = "" if done.added else " (already quarantined)"
    console.print(f"quarantined partition {q.partition} offset {q.offset}{already}: {q.reason}", markup=False)
    console.print(
        f"job {done.job_id} resumed from {done.restored_from} "
        f"in {time.monotonic() - started:.1f}s; the record goes to the dead-letter topic as quarantined"
    )


@app.command()
def logs(
    process: Annotated[
        str,
        typer.Argument(
            help="kafka, pinot-zookeeper, pinot, flink-jobmanager, flink-taskmanager, api, generator, "
            "supervisor"
        ),
    ],
    lines: Annotated[int, typer.Option("-n", help="How many lines.")] = 100,
    follow: Annotated[bool, typer.Option("-f", help="Keep following.")] = False,
) -> None:
    """Print (or follow) the log of one engine process."""
    try:
        path = _stack().log_file(process)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if not path.exists():
        err.print(f"no log yet at {path}")
        raise typer.Exit(1)
    subprocess.run(["tail", f"-n{lines}", *(["-F"] if follow else []), str(path)], check=False)


@app.command()
def topics(
    prefix: Annotated[str, typer.Argument(help="Only topics whose name starts with this.")] = "",
) -> None:
    """List topics with partitions, offsets and each consumer group's lag."""
    table = Table(title=f"Kafka at {get_settings().kafka_bootstrap}")
    for col in ("topic", "partition", "first offset", "end offset", "lag by group"):
        table.add_column(
            col, justify="right" if "offset" in col or col == "partition" else "left", overflow="fold"
        )
    for p in kafka_topics.describe(get_settings(), prefix):
        lag = ", ".join(f"{g}: {n:,}" for g, n in sorted(p.lag.items())) or "-"
        table.add_row(p.topic, str(p.partition), f"{p.start:,}", f"{p.end:,}", lag)
    console.print(table)


@app.command("tail")
def tail_topic(
    topic: Annotated[str, typer.Argument(help="Topic to read (committed records only).")],
    last: Annotated[int, typer.Option("-n", help="Records per partition to show first.", min=0)] = 5,
    follow: Annotated[bool, typer.Option("-f", help="Keep following.")] = False,
) -> None:
    """Print a topic's newest records as pretty JSON (and follow it with -f)."""
    try:
        for r in kafka_topics.tail(get_settings(), topic, last, follow):
            console.print(f"[dim]{topic}[{r.partition}] @ {r.offset}[/dim]")
            console.print(r.value, highlight=False, markup=False)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc


key_app = typer.Typer(help="API keys (access control: docs/operations.md).", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("new")
def new_api_key(
    name: Annotated[str, typer.Option(help="Who or what the key is for.")] = "dashboard",
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: metrics, sessions (user ids), kafka (raw records), ops.")
    ] = "metrics",
    rate: Annotated[float, typer.Option(help="Requests per second allowed.", min=0.001)] = 20.0,
) -> None:
    """Make a random API key: prints the key (shown once) and the RTA_API_KEYS entry (its SHA-256 only)."""
    key, sha256 = auth.new_key()
    try:
        entry = ApiKey.model_validate(
            {
                "name": name,
                "sha256": sha256,
                "scopes": [s.strip() for s in scopes.split(",")],
                "rate_per_s": rate,
            }
        )
    except ValidationError as exc:
        err.print(f"[red]{exc.errors()[0]['msg']}: scopes are metrics, sessions, kafka, ops[/red]")
        raise typer.Exit(2) from exc
    console.print(f"key (give it to the client; it is not stored anywhere): [bold]{key}[/bold]")
    console.print("add to RTA_API_KEYS (a JSON list) in the API's environment or .env:", highlight=False)
    console.print(entry.model_dump_json(), highlight=False, markup=False, soft_wrap=True)


if __name__ == "__main__":
    app()
