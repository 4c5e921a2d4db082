"""The `rta` console script against the session's stack: status reports ready, a second `up` is a no-op."""

import os
import subprocess
import sys
from pathlib import Path

from stack.manager import Stack
from tests.support.builders import reset_product_pipeline

RTA = str(Path(sys.executable).with_name("rta"))


def _env(stack: Stack) -> dict[str, str]:
    s = stack.settings
    return {
        **os.environ,
        "RTA_PORT_OFFSET": str(s.port_offset),
        "RTA_RUN_DIR": str(s.run_dir),
        "COLUMNS": "200",
    }


def _pids(stack: Stack) -> dict[str, int]:
    return {p: r.pid for st in stack.status() for p, r in st.processes.items() if r is not None}


def test_status_reports_every_engine_ready(stack: Stack) -> None:
    result = subprocess.run([RTA, "status"], env=_env(stack), capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    for process in ("kafka", "pinot-zookeeper", "pinot", "flink-jobmanager", "flink-taskmanager"):
        assert process in result.stdout
    assert stack.settings.flink_rest_url in result.stdout
    daemon = stack.daemon()
    assert daemon is not None  # started by `stack.up()`: everything runs under the supervisor
    assert f"supervisor           pid {daemon.pid};" in result.stdout
    assert "restarts" in result.stdout
    assert "last exit" in result.stdout


def test_up_twice_keeps_the_same_processes(stack: Stack) -> None:
    before = _pids(stack)
    try:
        # `rta up` also provisions the product's pipeline on the test stack; it is removed afterwards so
        # that no later test (or kept stack) meets a job it did not start.
        result = subprocess.run([RTA, "up"], env=_env(stack), capture_output=True, text=True, timeout=300)
    finally:
        reset_product_pipeline(stack.settings)

    assert result.returncode == 0, result.stdout + result.stderr
    assert _pids(stack) == before
    assert len(before) == 5


def test_unknown_engine_is_a_clear_error(stack: Stack) -> None:
    result = subprocess.run(
        [RTA, "status", "kafak"], env=_env(stack), capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert "unknown engine" in result.stderr
    assert "kafak" in result.stderr
