"""`rta`: run the local stack of real engines (Kafka, Flink, Pinot) on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.settings import get_settings
from stack.engines.base import EngineStartError
from stack.java import JavaNotFoundError
from stack.manager import ENGINE_NAMES, EngineStatus, Stack

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


def _print_status(statuses: list[EngineStatus]) -> None:
    table = Table(title=f"stack in {get_settings().run_dir}")
    for col in ("engine", "process", "pid", "RSS", "ready", "detail"):
        table.add_column(col)
    for st in statuses:
        for i, (name, proc) in enumerate(st.processes.items()):
            rss = f"{proc.rss_bytes() / 2**20:,.0f} MiB" if proc else "-"
            ready = ("[green]yes[/green]" if st.ready else "[red]no[/red]") if i == 0 else ""
            table.add_row(
                st.name if i == 0 else "",
                name,
                str(proc.pid) if proc else "stopped",
                rss,
                ready,
                st.probe.detail if i == 0 else "",
            )
    console.print(table)
    urls = {k: v for st in statuses for k, v in st.urls.items()}
    for label, url in urls.items():
        console.print(f"  {label:20} {url}")


@app.command()
def up(engines: EngineOpt = None) -> None:
    """Start the engines (all by default) and wait until each is ready; safe to call twice."""
    stack = _stack()
    started = time.monotonic()
    try:
        statuses = stack.up(engines)
    except EngineStartError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_status(statuses)
    console.print(f"ready in {time.monotonic() - started:.1f}s")


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
    """Show each engine's processes, memory and readiness; exits 1 unless all are ready."""
    try:
        statuses = _stack().status(engines)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    _print_status(statuses)
    if not all(st.ready for st in statuses):
        raise typer.Exit(1)


@app.command()
def logs(
    process: Annotated[
        str, typer.Argument(help="kafka, pinot-zookeeper, pinot, flink-jobmanager, flink-taskmanager")
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


if __name__ == "__main__":
    app()
