"""The supervisor daemon on real child processes (no engines): restart with backoff, exit reasons,
give-up after fast failures, no restart once stopped, adoption by a new daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from stack.process import ProcessSpec, Supervisor, SupervisorError
from stack.supervisor import RestartPolicy, exit_reason
from tests.support.polling import poll_until


def _spec(tmp_path: Path, name: str, code: str = "import time; time.sleep(120)") -> ProcessSpec:
    return ProcessSpec(
        name=name, argv=[sys.executable, "-c", code], log_file=tmp_path / "logs" / f"{name}.log", cwd=tmp_path
    )


def _poll(condition, timeout_s: float = 20.0):  # type: ignore[no-untyped-def]
    """The first truthy value of `condition`."""
    return poll_until(condition, bool, timeout_s=timeout_s, what="the supervisor's answer", interval_s=0.05)


@pytest.fixture
def supervisor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Supervisor]:
    """A real daemon (python -m stack.supervisor) with a fast policy; everything stopped afterwards."""
    monkeypatch.setenv("RTA_RESTART_BACKOFF_S", "0.2")
    monkeypatch.setenv("RTA_RESTART_BACKOFF_MAX_S", "0.4")
    monkeypatch.setenv("RTA_RESTART_MIN_UPTIME_S", "2")
    monkeypatch.setenv("RTA_RESTART_MAX_FAST_FAILURES", "3")
    sup = Supervisor(tmp_path / "run", start_timeout_s=20)
    yield sup
    for wanted in list(sup.wanted_dir.glob("*.json")):
        sup.stop(wanted.stem, timeout_s=5)
    sup.stop_daemon()


def test_exit_reasons_name_the_signal_or_the_code() -> None:
    assert exit_reason(-signal.SIGKILL) == "killed by SIGKILL"
    assert exit_reason(-signal.SIGTERM) == "killed by SIGTERM"
    assert exit_reason(3) == "exited with code 3"
    assert exit_reason(None).startswith("exit status unknown")


def test_backoff_doubles_per_fast_failure_up_to_its_cap() -> None:
    policy = RestartPolicy(backoff_s=1.0, backoff_max_s=5.0)
    assert [policy.delay_s(k) for k in range(6)] == [1.0, 1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.slow
def test_a_killed_process_is_restarted_and_its_exit_recorded(supervisor: Supervisor, tmp_path: Path) -> None:
    first = supervisor.start(_spec(tmp_path, "sleeper"))
    daemon = supervisor.daemon()
    assert daemon is not None
    assert psutil.Process(first.pid).ppid() == daemon.pid
    os.kill(first.pid, signal.SIGKILL)
    second = _poll(lambda: (p := supervisor.find("sleeper")) and p.pid != first.pid and p)
    health = _poll(lambda: (h := supervisor.health().get("sleeper")) and h.restarts == 1 and h)
    assert health.status == "running"
    assert health.last_exit is not None
    assert health.last_exit.startswith("killed by SIGKILL after ")
    assert psutil.Process(second.pid).is_running()


@pytest.mark.slow
def test_a_stopped_process_stays_stopped(supervisor: Supervisor, tmp_path: Path) -> None:
    proc = supervisor.start(_spec(tmp_path, "sleeper"))
    daemon = supervisor.daemon()
    assert daemon is not None
    assert supervisor.stop("sleeper", timeout_s=5)
    time.sleep(1.0)  # several daemon passes (4 per second), none may start it again
    assert supervisor.find("sleeper") is None
    alive = [c for c in psutil.Process(daemon.pid).children() if c.status() != psutil.STATUS_ZOMBIE]
    assert alive == []  # not restarted behind a deleted PID file either
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
    assert _poll(lambda: supervisor.health().get("sleeper")).status == "stopped"


@pytest.mark.slow
def test_it_gives_up_after_repeated_fast_failures_and_start_tries_again(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    flag = tmp_path / "healthy"
    code = f"import os, sys, time\nif not os.path.exists({str(flag)!r}): sys.exit(7)\ntime.sleep(120)"
    try:
        supervisor.start(_spec(tmp_path, "crasher", code))  # returns if it saw the process alive
    except SupervisorError as exc:
        assert "gave up on crasher: exited with code 7" in str(exc)  # noqa: PT017 - either is fine
    health = _poll(lambda: (h := supervisor.health().get("crasher")) and h.status == "gave_up" and h)
    assert health.restarts == 2  # first start + 2 restarts = 3 fast failures
    assert health.last_exit is not None
    assert health.last_exit.startswith("exited with code 7 after")
    time.sleep(1.0)  # a window for a restart that must not happen (4 daemon passes a second)
    assert supervisor.find("crasher") is None
    assert supervisor.health()["crasher"].restarts == 2
    log = (supervisor.run_dir / "logs" / "supervisor.log").read_text()
    assert "GIVING UP on crasher: 3 fast failures in a row" in log
    flag.touch()
    again = supervisor.start(_spec(tmp_path, "crasher", code))  # a new request resets the count
    assert psutil.Process(again.pid).is_running()
    assert _poll(lambda: supervisor.health()["crasher"].status == "running")


@pytest.mark.slow
def test_a_new_daemon_adopts_running_processes(supervisor: Supervisor, tmp_path: Path) -> None:
    proc = supervisor.start(_spec(tmp_path, "sleeper"))
    old = supervisor.daemon()
    assert old is not None
    os.kill(old.pid, signal.SIGKILL)
    _poll(lambda: supervisor.daemon() is None)
    assert supervisor.find("sleeper") == proc  # its processes outlive it
    assert supervisor.start(_spec(tmp_path, "sleeper")) == proc  # `rta up`: keeps it, restarts the daemon
    new = supervisor.daemon()
    assert new is not None
    assert new.pid != old.pid
    time.sleep(1.0)  # a window for a second copy that must not be started (4 daemon passes a second)
    assert supervisor.find("sleeper") == proc  # adopted, not started twice
    os.kill(proc.pid, signal.SIGKILL)
    restarted = _poll(lambda: (p := supervisor.find("sleeper")) and p.pid != proc.pid and p)
    assert psutil.Process(restarted.pid).is_running()
    assert "exit status unknown" in (supervisor.health()["sleeper"].last_exit or "")


@pytest.mark.slow
def test_one_daemon_only(supervisor: Supervisor, tmp_path: Path) -> None:
    first = supervisor.ensure_daemon()
    assert supervisor.ensure_daemon() == first
    second = subprocess.run(
        [sys.executable, "-m", "stack.supervisor", str(supervisor.run_dir)], capture_output=True, timeout=30
    )
    assert second.returncode == 0
    assert supervisor.daemon() == first
