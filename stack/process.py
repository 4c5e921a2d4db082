"""Background processes owned by the stack: started detached, tracked by PID file, kept alive by the
supervisor daemon (stack/supervisor.py), stopped by PID.

A PID file records the PID and the process's start time, so a PID recycled by the OS for some
unrelated process is never mistaken for ours (and never signalled).

Files under `<run_dir>`:
- `pids/<name>.json`: the running process {pid, create_time, log_file, argv}.
- `supervisor/wanted/<name>.json`: a process that should be running ({spec, env, generation}); the
  daemon starts it, and restarts it whenever it dies, until `stop` removes the file.
- `supervisor/state.json`: what the daemon saw: per process its restarts and last exit reason.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

DAEMON = "supervisor"


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    log_file: Path
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "argv": self.argv,
            "log_file": str(self.log_file),
            "cwd": str(self.cwd),
            "env": self.env,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProcessSpec:
        return cls(
            name=data["name"],
            argv=list(data["argv"]),
            log_file=Path(data["log_file"]),
            cwd=Path(data["cwd"]),
            env=dict(data.get("env", {})),
        )


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


@dataclass(frozen=True)
class ProcessHealth:
    """What the supervisor daemon records of one process (its `state.json` entry).

    `status`: running | backoff (dead, restart pending) | gave_up | stopped.
    `restarts`: restarts since it was last started on request (`rta up`).
    `last_exit`: e.g. "killed by SIGKILL after 312 s" or "exited with code 1 after 4 s"; None if never.
    """

    name: str
    status: str
    restarts: int = 0
    last_exit: str | None = None
    last_exit_at: float | None = None  # epoch seconds
    next_start_at: float | None = None
    generation: str | None = None  # which start request (`Supervisor.start`) this record is about

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> ProcessHealth:
        return cls(
            name=name,
            status=str(data.get("status", "unknown")),
            restarts=int(data.get("restarts", 0)),
            last_exit=data.get("last_exit"),
            last_exit_at=data.get("last_exit_at"),
            next_start_at=data.get("next_start_at"),
            generation=data.get("generation"),
        )


class SupervisorError(RuntimeError):
    """The supervisor daemon is not running, or did not start a process it was asked to."""


def write_json_atomic(path: Path, data: object, mode: int = 0o644) -> None:
    """Readers never see half a file: write beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def spawn(spec: ProcessSpec, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start `spec` detached, in a session of its own, output appended to its log file.

    A session of its own: Ctrl-C in the starting shell does not reach it, and stopping signals the
    whole group, so no child outlives it.
    """
    spec.log_file.parent.mkdir(parents=True, exist_ok=True)
    with spec.log_file.open("ab") as log:
        log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S%z')} starting {spec.name}\n".encode())
        log.flush()
        return subprocess.Popen(
            spec.argv,
            cwd=spec.cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class Supervisor:
    """Starts, finds and stops the stack's processes; state lives under `run_dir`.

    `supervised=True` (the stack): processes are started by the supervisor daemon, which restarts
    them when they die (stack/supervisor.py); `start` launches the daemon when it is not running.
    `supervised=False`: processes are started directly and nothing restarts them.
    """

    def __init__(self, run_dir: Path, supervised: bool = True, start_timeout_s: float = 60.0) -> None:
        self.run_dir = run_dir
        self.pid_dir = run_dir / "pids"
        self.supervisor_dir = run_dir / "supervisor"
        self.wanted_dir = self.supervisor_dir / "wanted"
        self.state_file = self.supervisor_dir / "state.json"
        self.lock_file = self.supervisor_dir / "wanted.lock"
        self.supervised = supervised
        self.start_timeout_s = start_timeout_s

    def _pid_file(self, name: str) -> Path:
        return self.pid_dir / f"{name}.json"

    def wanted_file(self, name: str) -> Path:
        return self.wanted_dir / f"{name}.json"

    @contextlib.contextmanager
    def wanted_lock(self) -> Iterator[None]:
        """Held while deciding "wanted and dead, so start it" (daemon) or "no longer wanted" (stop), so
        a process being stopped is never restarted behind `stop`'s back."""
        self.supervisor_dir.mkdir(parents=True, exist_ok=True)
        with self.lock_file.open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def find(self, name: str) -> RunningProcess | None:
        """The live process recorded under `name`, or None (no PID file, dead, or a recycled PID)."""
        try:
            record = json.loads(self._pid_file(name).read_text())
            proc = psutil.Process(record["pid"])
            alive = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
            if alive and abs(proc.create_time() - record["create_time"]) < 1.0:
                return RunningProcess(name, record["pid"], Path(record["log_file"]))
        except (FileNotFoundError, ValueError, KeyError, psutil.Error):
            pass
        return None

    def record(self, name: str, pid: int, spec: ProcessSpec) -> RunningProcess:
        """Write the PID file of a process just started."""
        write_json_atomic(
            self._pid_file(name),
            {
                "pid": pid,
                "create_time": psutil.Process(pid).create_time(),
                "log_file": str(spec.log_file),
                "argv": spec.argv,
            },
        )
        return RunningProcess(name, pid, spec.log_file)

    def start(self, spec: ProcessSpec) -> RunningProcess:
        """Start `spec` unless a process of that name is already running (then return it).

        Supervised: records it as wanted (with this process's environment, so a restart runs it the
        same way) and waits until the daemon has started it. Raises SupervisorError if it does not.
        """
        existing = self.find(spec.name)
        env = {**os.environ, **spec.env}
        if not self.supervised:
            return existing or self.record(spec.name, spawn(spec, env).pid, spec)
        # A new generation: the daemon forgets earlier failures (and a give-up) of this name.
        wanted = {"spec": spec.to_json(), "env": env, "generation": uuid.uuid4().hex}
        if existing is not None:
            # Running: keep it, but make sure it is watched (a daemon that died is started again, and
            # a process started before supervision existed is adopted).
            if not self.wanted_file(spec.name).exists():
                write_json_atomic(self.wanted_file(spec.name), wanted, mode=0o600)
            self.ensure_daemon()
            return existing
        write_json_atomic(self.wanted_file(spec.name), wanted, mode=0o600)  # the env may hold secrets
        self.ensure_daemon()
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            running = self.find(spec.name)
            if running is not None:
                return running
            health = self.health().get(spec.name)
            if (
                health is not None
                and health.generation == wanted["generation"]
                and health.status == "gave_up"
            ):
                raise SupervisorError(f"the supervisor gave up on {spec.name}: {health.last_exit}")
            if self.daemon() is None:
                raise SupervisorError(
                    f"the supervisor daemon exited; see {self.run_dir / 'logs' / 'supervisor.log'}"
                )
            time.sleep(0.05)
        raise SupervisorError(f"the supervisor did not start {spec.name} within {self.start_timeout_s:.0f} s")

    def stop(self, name: str, timeout_s: float = 30.0) -> bool:
        """No longer wanted (the daemon will not restart it); SIGTERM the process group, SIGKILL after
        `timeout_s`. True if something was stopped."""
        with self.wanted_lock():
            self.wanted_file(name).unlink(missing_ok=True)
        running = self.find(name)
        if running is None:
            return False
        self._signal_group(running.pid, signal.SIGTERM)
        if not _wait_until(lambda: _gone(running.pid), timeout_s):
            self._signal_group(running.pid, signal.SIGKILL)
            _wait_until(lambda: _gone(running.pid), 10.0)
        self._forget_pid(name, running.pid)
        return True

    def _forget_pid(self, name: str, pid: int) -> None:
        """Remove the PID file if it still names `pid` (a racing `start` may have recorded another)."""
        try:
            if json.loads(self._pid_file(name).read_text()).get("pid") == pid:
                self._pid_file(name).unlink(missing_ok=True)
        except (FileNotFoundError, ValueError):
            pass

    def wanted_generation(self, name: str) -> str | None:
        """The generation of the current start request for `name` (None: not wanted)."""
        try:
            return str(json.loads(self.wanted_file(name).read_text())["generation"])
        except (FileNotFoundError, ValueError, KeyError):
            return None

    def gave_up_on(self, name: str) -> ProcessHealth | None:
        """The daemon's record of `name` if it gave up on the current start request, else None."""
        health = self.health().get(name)
        generation = self.wanted_generation(name)
        if health is not None and health.status == "gave_up" and health.generation == generation:
            return health
        return None

    def kill(self, name: str) -> bool:
        """kill -9 the process group without any grace, as a crash would: for fault-injection tests.
        It stays wanted, so the daemon restarts it."""
        running = self.find(name)
        if running is None:
            return False
        self._signal_group(running.pid, signal.SIGKILL)
        _wait_until(lambda: _gone(running.pid), 10.0)
        return True

    # --- the daemon -------------------------------------------------------------------------------

    def daemon(self) -> RunningProcess | None:
        return self.find(DAEMON)

    def ensure_daemon(self) -> RunningProcess:
        """Start the supervisor daemon unless it runs; it keeps every wanted process alive."""
        running = self.daemon()
        if running is not None:
            return running
        spec = ProcessSpec(
            name=DAEMON,
            argv=[sys.executable, "-m", "stack.supervisor", str(self.run_dir)],
            log_file=self.run_dir / "logs" / f"{DAEMON}.log",
            cwd=Path(__file__).resolve().parent.parent,
        )
        proc = spawn(spec, os.environ)
        # The daemon writes its own PID file once it holds its lock: of several `rta` commands racing
        # here, one daemon wins and the others exit at once.
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            running = self.daemon()
            if running is not None:
                return running
            if proc.poll() is not None and time.monotonic() > deadline - 10.0:
                break
            time.sleep(0.05)
        raise SupervisorError(
            f"the supervisor daemon did not start; see {spec.log_file}\n{tail(spec.log_file, 15)}"
        )

    def stop_daemon(self, timeout_s: float = 10.0) -> bool:
        running = self.daemon()
        if running is None:
            return False
        self._signal_group(running.pid, signal.SIGTERM)
        if not _wait_until(lambda: _gone(running.pid), timeout_s):
            self._signal_group(running.pid, signal.SIGKILL)
        self._forget_pid(DAEMON, running.pid)
        return True

    def health(self) -> dict[str, ProcessHealth]:
        """The daemon's record of every process it watches (empty before it first ran)."""
        try:
            data = json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {
            name: ProcessHealth.from_json(name, entry) for name, entry in data.get("processes", {}).items()
        }

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> None:
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            os.kill(pid, sig)


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or _is_zombie(pid)


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
