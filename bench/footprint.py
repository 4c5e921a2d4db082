"""CPU and resident memory of every process of the stack (engines, API, generators), sampled in the
background while a benchmark runs, and summed per process name.

A JVM is one process; a launcher script above it is counted with its children, as `rta status` does.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil
from rich.table import Table

from core.settings import Settings
from stack.process import DAEMON, Supervisor

GIB = 1024**3


def stack_processes(settings: Settings) -> dict[str, int]:
    """name -> PID of every running process the stack supervises (engines and apps). Not the supervisor
    daemon itself: the engines and apps are its children, so its process tree would count them twice."""
    supervisor = Supervisor(settings.run_dir)
    found = {f.stem: supervisor.find(f.stem) for f in sorted(supervisor.pid_dir.glob("*.json"))}
    return {name: proc.pid for name, proc in found.items() if proc is not None and name != DAEMON}


@dataclass
class Usage:
    cpu_percent: list[float] = field(default_factory=list)  # 100 = one core
    rss_bytes: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        return {
            "cpu_mean_percent": round(statistics.fmean(self.cpu_percent), 1) if self.cpu_percent else 0.0,
            "rss_mean_gib": round(statistics.fmean(self.rss_bytes) / GIB, 2) if self.rss_bytes else 0.0,
            "rss_max_gib": round(max(self.rss_bytes) / GIB, 2) if self.rss_bytes else 0.0,
        }


class _Tree:
    """A process and its descendants, with CPU measured between successive samples."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.procs: dict[int, psutil.Process] = {}

    def sample(self) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        try:
            members = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return 0.0, 0
        for proc in members:
            known = self.procs.setdefault(proc.pid, proc)
            try:
                cpu += known.cpu_percent(None)  # since this process's previous sample
                rss += known.memory_info().rss
            except psutil.Error:
                continue
        return cpu, rss


class Sampler:
    """Samples every `interval_s` until stopped; `extra` adds processes outside the supervisor."""

    def __init__(self, settings: Settings, interval_s: float = 1.0, extra: dict[str, int] | None = None):
        self.settings = settings
        self.interval_s = interval_s
        self.extra = extra or {}
        self.usage: dict[str, Usage] = {}
        self.total_rss: list[int] = []  # the whole stack's RSS at each sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        trees: dict[str, _Tree] = {}
        first = True
        while not self._stop.is_set():
            total = 0
            for name, pid in {**stack_processes(self.settings), **self.extra}.items():
                tree = trees.get(name)
                if tree is None or tree.root.pid != pid:
                    try:
                        tree = trees[name] = _Tree(pid)
                    except psutil.Error:
                        continue
                cpu, rss = tree.sample()
                usage = self.usage.setdefault(name, Usage())
                if not first:  # psutil's first cpu_percent of a process is a meaningless 0.0
                    usage.cpu_percent.append(cpu)
                usage.rss_bytes.append(rss)
                total += rss
            self.total_rss.append(total)
            first = False
            self._stop.wait(self.interval_s)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> dict[str, dict[str, float]]:
        self._stop.set()
        self._thread.join()
        return self.summary()

    def summary(self) -> dict[str, dict[str, float]]:
        rows = {name: u.summary() for name, u in sorted(self.usage.items())}
        # The peak total is one moment's sum over the processes, not a sum of their own peaks.
        totals = self.total_rss
        cpu = sum(r["cpu_mean_percent"] for r in rows.values())
        rows["TOTAL"] = {
            "cpu_mean_percent": round(cpu, 1),
            "rss_mean_gib": round(statistics.fmean(totals) / GIB, 2) if totals else 0.0,
            "rss_max_gib": round(max(totals) / GIB, 2) if totals else 0.0,
        }
        return rows


@contextmanager
def sampling(
    settings: Settings, interval_s: float = 1.0, extra: dict[str, int] | None = None
) -> Iterator[Sampler]:
    sampler = Sampler(settings, interval_s, extra).start()
    try:
        yield sampler
    finally:
        sampler.stop()


def cpu_seconds(pid: int | None) -> float | None:
    """CPU time (user + system, all threads) one process has used so far; None for no process."""
    if pid is None:
        return None
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def at_rest(settings: Settings, seconds: float = 10.0) -> dict[str, dict[str, float]]:
    """CPU and RSS of the stack over a quiet spell."""
    with sampling(settings) as sampler:
        time.sleep(seconds)  # the sampler thread is measuring meanwhile
    return sampler.summary()


def usage_table(title: str, usage: dict[str, dict[str, float]], cpu_digits: int = 1) -> Table:
    """A sampler's summary as a table: each process's mean CPU (100 % = a core) and mean RSS."""
    table = Table(title=title)
    for col in ("process", "CPU %", "RSS mean GiB"):
        table.add_column(col, justify="left" if col == "process" else "right")
    for name, row in usage.items():
        table.add_row(name, f"{row['cpu_mean_percent']:.{cpu_digits}f}", f"{row['rss_mean_gib']:.2f}")
    return table
