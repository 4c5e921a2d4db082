"""Background processes owned by the stack: started detached, tracked by PID file, stopped by PID.

A PID file records the PID and the process's start time, so a PID recycled by the OS for some
unrelated process is never mistaken for ours (and never signalled).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    log_file: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunningProcess:
    name: str
    pid: int
    log_file: Path

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (a launcher script may sit above the JVM)."""
        try:
            proc = psutil.Process(self.pid)
            return proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True) if c.is_running()
            )
        except psutil.Error:
            return 0


class Supervisor:
    """Starts, finds and stops the stack's processes; state lives in `<run_dir>/pids/`."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.pid_dir = run_dir / "pids"

    def _pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.json"

    def find(self, name: str) -> RunningProcess | None:
        pid_file = self._pid_file(name)
        try:
            record = json.loads(pid_file.read_text())
            proc = psutil.Process(record["pid"])
            alive = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
            if alive and abs(proc.create_time() - record["create_time"]) < 1.0:
                return RunningProcess(name, record["pid"], Path(record["log_file"]))
        except (FileNotFoundError, ValueError, KeyError, psutil.Error):
            pass
        pid_file.unlink(missing_ok=True)
        return None

    def start(self, spec: ProcessSpec) -> RunningProcess:
        """Start `spec` unless a process of that name is already running (then return it)."""
        existing = self.find(spec.name)
        if existing is not None:
            return existing
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        spec.log_file.parent.mkdir(parents=True, exist_ok=True)
        with spec.log_file.open("ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting {spec.name}\n".encode())
            log.flush()
            # A session of its own: Ctrl-C in the starting shell does not reach it, and stopping
            # signals the whole group, so no child outlives it.
            proc = subprocess.Popen(
                spec.argv,
                cwd=spec.cwd,
                env={**os.environ, **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        record = {
            "pid": proc.pid,
            "create_time": psutil.Process(proc.pid).create_time(),
            "log_file": str(spec.log_file),
            "argv": spec.argv,
        }
        self._pid_file(spec.name).write_text(json.dumps(record, indent=2))
        return RunningProcess(spec.name, proc.pid, spec.log_file)

    def stop(self, name: str, timeout_s: float = 30.0) -> bool:
        """SIGTERM the process group, escalate to SIGKILL after `timeout_s`. True if something was stopped."""
        running = self.find(name)
        if running is None:
            return False
        self._signal_group(running.pid, signal.SIGTERM)
        if not _wait_until(lambda: not psutil.pid_exists(running.pid) or _is_zombie(running.pid), timeout_s):
            self._signal_group(running.pid, signal.SIGKILL)
            _wait_until(lambda: not psutil.pid_exists(running.pid) or _is_zombie(running.pid), 10.0)
        self._pid_file(name).unlink(missing_ok=True)
        return True

    def kill(self, name: str) -> bool:
        """kill -9 without any grace: for fault-injection tests."""
        running = self.find(name)
        if running is None:
            return False
        self._signal_group(running.pid, signal.SIGKILL)
        _wait_until(lambda: not psutil.pid_exists(running.pid) or _is_zombie(running.pid), 10.0)
        self._pid_file(name).unlink(missing_ok=True)
        return True

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()


def tail(path: Path, lines: int = 40) -> str:
    """Last `lines` lines of a log file, for error messages."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 256 * 1024))
            data = f.read().decode(errors="replace")
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(data.splitlines()[-lines:])
