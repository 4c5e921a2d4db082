"""The product's own processes beside the engines: the metrics API (uvicorn) and the demo's event
generator. Supervised like the engines (PID files, logs in the run folder), stopped by `rta down`."""

from __future__ import annotations

import sys
from collections.abc import Mapping

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from core.settings import Settings
from stack.process import ProcessSpec, RunningProcess, Supervisor
from toolchain.versions import REPO_ROOT

API, GENERATOR = "api", "generator"
APP_PROCESSES = (GENERATOR, API)  # stop order


def api_spec(settings: Settings, env: Mapping[str, str] | None = None) -> ProcessSpec:
    """uvicorn serving api.main:app with `settings`' ports and run folder; `env` adds RTA_* settings."""
    return ProcessSpec(
        name=API,
        argv=[
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            settings.api_bind_host,
            "--port",
            str(settings.port(settings.api_port)),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--timeout-graceful-shutdown",  # live streams never end by themselves: don't wait on them
            "3",
        ],
        log_file=settings.run_dir / "logs" / "api.log",
        cwd=REPO_ROOT,
        env={
            "RTA_PORT_OFFSET": str(settings.port_offset),
            "RTA_RUN_DIR": str(settings.run_dir),
            **(env or {}),
        },
    )


def generator_spec(settings: Settings) -> ProcessSpec:
    """Believable traffic with a sprinkle of every fault, so each endpoint has something to show."""
    return ProcessSpec(
        name=GENERATOR,
        argv=[
            sys.executable,
            "-m",
            "event_generator.cli",
            "--rate",
            str(settings.demo_rate),
            "--out-of-order",
            "0.02",
            "--late",
            "0.005",
            "--duplicate",
            "0.01",
            "--malformed",
            "0.005",
        ],
        log_file=settings.run_dir / "logs" / "generator.log",
        cwd=REPO_ROOT,
        env={"RTA_PORT_OFFSET": str(settings.port_offset)},
    )


def start_api(
    settings: Settings, supervisor: Supervisor, timeout_s: float = 60.0, env: Mapping[str, str] | None = None
) -> RunningProcess:
    """Start the API unless running, and wait until /health answers."""
    proc = supervisor.start(api_spec(settings, env))

    def healthy() -> None:
        if supervisor.find(API) is None:
            raise RuntimeError(f"the API exited during start-up; see {proc.log_file}")
        httpx.get(f"{settings.api_url}/health", timeout=2.0).raise_for_status()

    for attempt in Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.1, max=1.0),
        retry=retry_if_exception_type(httpx.HTTPError),
        reraise=True,
    ):
        with attempt:
            healthy()
    return proc


def start_generator(settings: Settings, supervisor: Supervisor) -> RunningProcess:
    return supervisor.start(generator_spec(settings))


def stop_apps(supervisor: Supervisor) -> list[str]:
    return [name for name in APP_PROCESSES if supervisor.stop(name)]
