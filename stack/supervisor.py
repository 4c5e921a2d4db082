"""The supervisor daemon: keeps every wanted process of the stack running, restarting with backoff.

`python -m stack.supervisor <run_dir>`; `rta up` starts it (stack.process.Supervisor.ensure_daemon)
and `rta down` stops it. It is the parent of the processes it starts, so it knows how each one ended
("killed by SIGKILL", "exited with code 1"). Four times a second it compares what is wanted
(`supervisor/wanted/*.json`, written by `Supervisor.start`, removed by `Supervisor.stop`) with what
runs, and starts what is missing:

- a process that dies is restarted after `restart_backoff_s`, doubled for each consecutive fast
  failure (one that lived less than `restart_min_uptime_s`), at most `restart_backoff_max_s`;
- after `restart_max_fast_failures` fast failures in a row it gives up on that process and says so in
  its log and in `rta status` (which exits 1); `rta up` asks again and resets the count;
- everything it sees goes to `supervisor/state.json` ({"processes": {name: {status, restarts,
  last_exit, last_exit_at, next_start_at}}}), read by `rta status` and the API's /prometheus.

If the daemon itself dies, its processes keep running (each in a session of its own); the next `rta`
command that starts something starts a new daemon, which adopts them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import orjson

from core.settings import Settings
from stack.process import DAEMON, ProcessSpec, RunningProcess, Supervisor, spawn, tail, write_json_atomic

log = logging.getLogger("rta.supervisor")

TICK_S = 0.25


@dataclass(frozen=True)
class RestartPolicy:
    """When to restart a dead process, and when to stop trying (settings `restart_*`)."""

    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    min_uptime_s: float = 60.0
    max_fast_failures: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> RestartPolicy:
        return cls(
            backoff_s=settings.restart_backoff_s,
            backoff_max_s=settings.restart_backoff_max_s,
            min_uptime_s=settings.restart_min_uptime_s,
            max_fast_failures=settings.restart_max_fast_failures,
        )

    def delay_s(self, fast_failures: int) -> float:
        """Wait before the next start: the base after a process that ran long, doubling per fast failure."""
        return float(min(self.backoff_s * 2 ** max(0, fast_failures - 1), self.backoff_max_s))


@dataclass
class Watched:
    """One wanted process as the daemon tracks it."""

    spec: ProcessSpec
    env: dict[str, str]
    generation: str
    child: subprocess.Popen[bytes] | None = None  # started by this daemon: its exit code is ours to read
    adopted: RunningProcess | None = None  # found running (started by an earlier daemon)
    started_at: float = 0.0  # monotonic
    status: str = "starting"
    restarts: int = 0
    exits: int = 0
    fast_failures: int = 0
    next_start_at: float | None = None  # epoch seconds
    last_exit: str | None = None
    last_exit_at: float | None = None

    def health(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_exit_at": self.last_exit_at,
            "next_start_at": self.next_start_at,
            "pid": self.child.pid if self.child else self.adopted.pid if self.adopted else None,
            "generation": self.generation,
        }


def exit_reason(returncode: int | None) -> str:
    """How a child ended, in words: "killed by SIGKILL", "exited with code 1"."""
    if returncode is None:
        return "exit status unknown (it was not started by this supervisor)"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with code {returncode}"


@dataclass
class Daemon:
    supervisor: Supervisor
    policy: RestartPolicy
    wall: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    watched: dict[str, Watched] = field(default_factory=dict)
    _written: bytes = b""

    def _wanted(self) -> dict[str, tuple[ProcessSpec, dict[str, str], str]]:
        wanted = {}
        for path in sorted(self.supervisor.wanted_dir.glob("*.json")):
            try:
                data = orjson.loads(path.read_bytes())
                wanted[path.stem] = (
                    ProcessSpec.from_json(data["spec"]),
                    dict(data["env"]),
                    data["generation"],
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error("ignoring unreadable %s: %s", path, exc)
        return wanted

    def step(self) -> None:
        """One pass: reap what ended, restart what is wanted and dead (when its backoff is over)."""
        with self.supervisor.wanted_lock():
            wanted = self._wanted()
            for name in list(self.watched):
                if name not in wanted:
                    self._forget(name)
            for name, (spec, env, generation) in wanted.items():
                entry = self.watched.get(name)
                if entry is None or entry.generation != generation:
                    if entry is not None and entry.child is not None:
                        entry.child.poll()  # a restarted request: reap the old child if it ended
                    entry = self.watched[name] = Watched(spec, env, generation)
                try:
                    self._tend(entry)
                except Exception:  # one process's trouble must not stop the others' supervision
                    log.exception("supervising %s failed in this pass", name)
        self._write_state()

    def _alive(self, entry: Watched) -> bool:
        if entry.child is not None:
            return entry.child.poll() is None
        if entry.adopted is not None:
            found = self.supervisor.find(entry.spec.name)
            return found is not None and found.pid == entry.adopted.pid
        return False

    def _tend(self, entry: Watched) -> None:
        name = entry.spec.name
        if entry.status == "gave_up":
            return
        if entry.status == "running":
            if self._alive(entry):
                return
            self._ended(entry)
            if entry.status == "gave_up":
                return
        if entry.next_start_at is not None and self.wall() < entry.next_start_at:
            return
        found = self.supervisor.find(name)
        if found is not None:  # started by an earlier daemon, still running: watch it
            entry.adopted, entry.child, entry.status = found, None, "running"
            entry.started_at = self.mono()
            return
        entry.started_at = self.mono()  # a start that fails at once is a fast failure
        try:
            child = spawn(entry.spec, entry.env)
        except OSError as exc:
            entry.child = None
            self._ended(entry, f"could not start: {exc}")
            return
        # Tracked before anything else can fail, so a later pass never starts a second copy.
        entry.child, entry.adopted, entry.status = child, None, "running"
        self.supervisor.record(name, child.pid, entry.spec)
        if entry.exits:
            entry.restarts += 1
            log.warning(
                "restarted %s (pid %d), restart %d; it had %s",
                name,
                child.pid,
                entry.restarts,
                entry.last_exit,
            )
        else:
            log.info("started %s (pid %d)", name, child.pid)
        entry.next_start_at = None

    def _ended(self, entry: Watched, reason: str | None = None) -> None:
        uptime = self.mono() - entry.started_at if entry.started_at else 0.0
        if reason is None:
            returncode = entry.child.returncode if entry.child is not None else None
            reason = f"{exit_reason(returncode)} after {uptime:.0f} s"
        entry.child = entry.adopted = None
        entry.exits += 1
        entry.last_exit, entry.last_exit_at = reason, self.wall()
        entry.fast_failures = entry.fast_failures + 1 if uptime < self.policy.min_uptime_s else 0
        name = entry.spec.name
        if entry.fast_failures >= self.policy.max_fast_failures:
            entry.status, entry.next_start_at = "gave_up", None
            log.error(
                "GIVING UP on %s: %d fast failures in a row (each within %.0f s of its start); last: %s. "
                "`rta up` tries again. Its log (%s) ends:\n%s",
                name,
                entry.fast_failures,
                self.policy.min_uptime_s,
                reason,
                entry.spec.log_file,
                tail(entry.spec.log_file, 20),
            )
            return
        delay = self.policy.delay_s(entry.fast_failures)
        entry.status, entry.next_start_at = "backoff", self.wall() + delay
        log.warning("%s %s; restarting in %.1f s", name, reason, delay)

    def _forget(self, name: str) -> None:
        """No longer wanted (`rta down` is stopping it): never restart it; reap it once it ends."""
        entry = self.watched.pop(name)
        if entry.child is not None and entry.child.poll() is None:
            threading.Thread(target=entry.child.wait, daemon=True).start()
        log.info("%s is no longer wanted", name)

    def _write_state(self) -> None:
        processes = {name: entry.health() for name, entry in sorted(self.watched.items())}
        blob = orjson.dumps(processes, option=orjson.OPT_SORT_KEYS)
        if blob == self._written:
            return
        old = self.supervisor.health()
        stopped = {
            n: {
                "status": "stopped",
                "restarts": h.restarts,
                "last_exit": h.last_exit,
                "last_exit_at": h.last_exit_at,
            }
            for n, h in old.items()
            if n not in processes
        }
        write_json_atomic(self.supervisor.state_file, {"processes": {**stopped, **processes}})
        self._written = blob


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 1:
        print("usage: python -m stack.supervisor <run_dir>", file=sys.stderr)
        return 2
    run_dir = Path(args[0])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    supervisor = Supervisor(run_dir)
    supervisor.supervisor_dir.mkdir(parents=True, exist_ok=True)
    lock = (supervisor.supervisor_dir / "daemon.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.info("another supervisor daemon runs for %s; exiting", run_dir)
        return 0
    policy = RestartPolicy.from_settings(Settings(run_dir=run_dir))
    me = ProcessSpec(
        DAEMON,
        [sys.executable, "-m", "stack.supervisor", str(run_dir)],
        run_dir / "logs" / f"{DAEMON}.log",
        Path.cwd(),
    )
    supervisor.record(DAEMON, os.getpid(), me)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon = Daemon(supervisor, policy)
    log.info("supervising %s (%s)", run_dir, policy)
    while not stopping.is_set():
        try:
            daemon.step()
        except Exception:  # one bad pass must not end supervision
            log.exception("supervision pass failed")
        stopping.wait(TICK_S)
    try:
        daemon.step()  # `rta down` has just stopped everything: record it as stopped, not as backing off
    except Exception:
        log.exception("the last supervision pass failed")
    log.info("stopping; the processes keep running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
