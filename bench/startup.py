"""Start-up and footprint: `make demo` to the first served metric, cold and warm, and the stack's
memory and CPU at rest afterwards.

    .venv/bin/python -m bench.startup            (the demo stack must be down: it uses the same ports)

cold: a fresh clone of HEAD with empty download caches (pip, Maven, engine jars: a private
XDG_CACHE_HOME and Maven repository) and an empty run folder, so everything is fetched and built.
warm: `make down`, then `make demo` again in the same clone (caches filled, run folder kept).
`make demo` returns once the API serves the first minute, so its wall time is the figure. The clone
and its caches are deleted at the end. Writes bench/results/startup.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bench.footprint import at_rest, usage_table
from core.settings import Settings, get_settings
from toolchain.versions import REPO_ROOT

RESULTS = Path(__file__).parent / "results"
console = Console()


def timed(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    started = time.monotonic()
    with log.open("ab") as out:
        subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, check=True)
    return time.monotonic() - started


def main(
    cold: Annotated[bool, typer.Option(help="Also time a cold start (downloads everything).")] = True,
    rest: Annotated[float, typer.Option(help="Seconds to sample the idle stack.", min=1)] = 20,
) -> None:
    if any(get_settings().run_dir.joinpath("pids").glob("*.json")):
        raise SystemExit("bench.startup: stop the demo stack first (make down); it uses the same ports")
    RESULTS.mkdir(exist_ok=True)
    log = RESULTS / "logs" / "startup.log"
    log.parent.mkdir(exist_ok=True)
    figures: dict[str, float] = {}
    footprint: dict[str, dict[str, dict[str, float]]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="rta-startup-"))
    clone = scratch / "repo"
    try:
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RTA_", "VIRTUAL_ENV"))}
        if cold:
            env |= {
                "XDG_CACHE_HOME": str(scratch / "cache"),
                "MAVEN_OPTS": f"-Dmaven.repo.local={scratch / 'm2'}",
            }
        settings = Settings(run_dir=clone / ".run" / "stack")
        label = "cold" if cold else "first"
        figures[f"{label} make demo"] = timed(["make", "demo"], clone, env, log)
        footprint[label] = at_rest(settings, rest)
        timed(["make", "down"], clone, env, log)
        figures["warm make demo"] = timed(["make", "demo"], clone, env, log)
        footprint["warm"] = at_rest(settings, rest)
    finally:
        subprocess.run(["make", "down"], cwd=clone, env=env, stdout=subprocess.DEVNULL, check=False)
        shutil.rmtree(scratch, ignore_errors=True)

    table = Table(title="make demo to the first served metric")
    table.add_column("run")
    table.add_column("seconds", justify="right")
    for name, seconds in figures.items():
        table.add_row(name, f"{seconds:.0f}")
    console.print(table)
    for name, rows in footprint.items():
        title = f"stack at rest after the {name} start (demo generator at its 50 ev/s)"
        console.print(usage_table(title, rows, cpu_digits=0))
    out = RESULTS / "startup.json"
    out.write_text(json.dumps({"seconds": figures, "at_rest": footprint}, indent=1))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
