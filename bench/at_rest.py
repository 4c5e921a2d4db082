"""The stack at rest (issue 16, target 4): every process's CPU with no traffic, after a run, with the
run's state still held. Target: the whole stack at most 10 % of one core.

    RTA_RUN_DIR=.run/bench .venv/bin/python -m bench.at_rest --settle 120 --seconds 300

`make bench` runs it right after the 32-minute run at 2,500 events/s. It waits until the job has caught
up with the raw topic, then `--settle` seconds more (the job finishing the run's last windows, JIT
compilation, compactions), then samples each process
once a second for `--seconds`. The raw topic's end offsets are read before and after: records that
arrived meanwhile mean the stack was not at rest, and the run says so. `--jfr` then records the
TaskManager for 60 s more (outside the sampled window, which its cost would inflate) and prints where
its samples fall. Writes
bench/results/at-rest.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bench.footprint import Sampler, stack_processes, usage_table
from bench.jfr import Recording
from bench.sustained import drain
from core.settings import get_settings
from stack.backfill import raw_end_offsets

RESULTS = Path(__file__).parent / "results"
JFR_S = 60.0
TARGET_PERCENT = 10.0
"""Issue 16: the whole stack at rest uses at most 10 % of one core."""
console = Console()


def main(
    settle: Annotated[float, typer.Option(min=0, help="Seconds to wait before sampling.")] = 120.0,
    seconds: Annotated[float, typer.Option(min=10, help="Seconds to sample for.")] = 300.0,
    jfr: Annotated[bool, typer.Option(help="Then profile the TaskManager for 60 s.")] = True,
) -> None:
    settings = get_settings()
    drain(settings)
    console.print(f"the job has caught up; settling for {settle:.0f} s, then sampling for {seconds:.0f} s")
    time.sleep(settle)  # the quiet spell is what is measured: nothing to poll for
    before = raw_end_offsets(settings)
    taskmanager = stack_processes(settings).get("flink-taskmanager")
    sampler = Sampler(settings).start()
    try:
        time.sleep(seconds)  # the sampler thread measures meanwhile
    finally:
        usage = sampler.stop()
    arrived = sum(raw_end_offsets(settings).values()) - sum(before.values())
    hottest = {}
    if jfr and taskmanager:  # after the sampled window: the recording's own cost stays out of it
        with tempfile.TemporaryDirectory() as tmp:
            recording = Recording(taskmanager, 0, JFR_S, Path(tmp) / "taskmanager.jfr")
            recording.start()
            time.sleep(JFR_S)  # the recording's length
            hottest = recording.hottest()
    console.print(usage_table(f"at rest: {seconds:.0f} s after {settle:.0f} s of settling", usage))
    total = usage["TOTAL"]["cpu_mean_percent"]
    verdict = "met" if total <= TARGET_PERCENT else f"missed, {total / TARGET_PERCENT:.1f}x the target"
    console.print(f"whole stack {total:.1f} % of one core against {TARGET_PERCENT:.0f} %: {verdict}")
    if arrived:
        console.print(f"[red]{arrived:,} raw records arrived meanwhile: the stack was not at rest[/red]")
    for title, rows in hottest.items():
        console.print(f"TaskManager JFR, {title}: " + "; ".join(f"{name} {share} %" for name, share in rows))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "at-rest.json"
    result = {
        "date": datetime.now(UTC).isoformat(),
        "settle_s": settle,
        "seconds": seconds,
        "raw_records_arrived": arrived,
        "cpu": usage,
        "total_percent": total,
        "target_percent": TARGET_PERCENT,
        "jfr": hottest,
    }
    out.write_text(json.dumps(result, indent=1))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
