"""Background traffic for the benchmarks: the product's own generator CLI, as separate processes."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from toolchain.versions import REPO_ROOT

# One generator process builds and sends about 15k events/s on a free core (bench/generator.py), far
# less beside a busy pipeline; beyond this share per process the bench starts more of them.
PER_GENERATOR = 3000.0


def start_generators(rate: float, duration_s: float, log_dir: Path) -> list[subprocess.Popen[bytes]]:
    """Generators sending `rate` events/s in all for `duration_s`, event time = send time."""
    count = max(1, math.ceil(rate / PER_GENERATOR))
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = []
    for i in range(count):
        argv = [sys.executable, "-m", "event_generator.cli", "--rate", str(rate / count)]
        argv += ["--duration", str(duration_s), "--users", str(20_000 // count), "--products", "2000"]
        with (log_dir / f"generator-{int(rate)}-{i}.log").open("wb") as log:
            procs.append(subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT))
    return procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)


@contextmanager
def generating(rate: float, duration_s: float, log_dir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Generators running for the block (none when `rate` is 0), stopped when it ends however it ends."""
    procs = start_generators(rate, duration_s, log_dir) if rate else []
    try:
        yield procs
    finally:
        stop(procs)
