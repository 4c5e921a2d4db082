import json
import os
import sys
from pathlib import Path

import psutil

from stack.process import ProcessSpec, Supervisor


def _sleeper(tmp_path: Path, name: str = "sleeper") -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=[sys.executable, "-c", "import time; time.sleep(120)"],
        log_file=tmp_path / "logs" / f"{name}.log",
        cwd=tmp_path,
    )


def test_start_is_idempotent_and_stop_leaves_nothing(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, supervised=False)
    first = sup.start(_sleeper(tmp_path))
    try:
        assert sup.start(_sleeper(tmp_path)).pid == first.pid
        assert sup.find("sleeper") == first
    finally:
        assert sup.stop("sleeper", timeout_s=10)
    assert sup.find("sleeper") is None
    assert not psutil.pid_exists(first.pid) or psutil.Process(first.pid).status() == psutil.STATUS_ZOMBIE
    assert sup.stop("sleeper") is False


def test_kill_is_immediate(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, supervised=False)
    proc = sup.start(_sleeper(tmp_path))
    assert sup.kill("sleeper")
    assert sup.find("sleeper") is None  # nothing restarts an unsupervised process
    assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE


def test_a_recycled_pid_is_never_taken_for_ours(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, supervised=False)
    sup.pid_dir.mkdir(parents=True)
    # A PID file pointing at a live process that started at another time (this test runner).
    (sup.pid_dir / "ghost.json").write_text(
        json.dumps({"pid": os.getpid(), "create_time": 1.0, "log_file": str(tmp_path / "x.log")})
    )
    assert sup.find("ghost") is None
    assert sup.stop("ghost") is False
    assert psutil.pid_exists(os.getpid())


def test_output_goes_to_the_log_file(tmp_path: Path) -> None:
    sup = Supervisor(tmp_path, supervised=False)
    spec = ProcessSpec(
        name="echo",
        argv=[sys.executable, "-c", "print('hello from child')"],
        log_file=tmp_path / "logs" / "echo.log",
        cwd=tmp_path,
    )
    proc = sup.start(spec)
    psutil.Process(proc.pid).wait(timeout=30)
    assert "hello from child" in spec.log_file.read_text()
