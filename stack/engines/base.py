"""What every engine provides to the stack: its processes, how to prepare them, how to tell it is ready."""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from stack.process import ProcessSpec, RunningProcess, Supervisor, SupervisorError, tail


@dataclass(frozen=True)
class Probe:
    ready: bool
    detail: str


class EngineStartError(RuntimeError):
    """An engine did not become ready; names the engine, the reason and the log to read."""

    def __init__(self, engine: str, reason: str, log_file: Path) -> None:
        self.engine, self.reason, self.log_file = engine, reason, log_file
        super().__init__(
            f"{engine} failed to start: {reason}\nlog: {log_file}\n--- last lines ---\n{tail(log_file, 25)}"
        )


class Engine(ABC):
    """One engine of the stack. Subclasses define processes (in start order) and readiness probes."""

    name: str

    def __init__(self, settings: Settings, java_home: Path) -> None:
        self.settings = settings
        self.java_home = java_home
        self.home = settings.run_dir / self.name
        self.log_dir = settings.run_dir / "logs"

    @property
    @abstractmethod
    def process_names(self) -> list[str]:
        """Names of this engine's processes, in start order."""

    @abstractmethod
    def spec(self, process: str) -> ProcessSpec:
        """How to launch one of this engine's processes."""

    @abstractmethod
    def probe(self) -> Probe:
        """Is the engine ready to serve? Cheap, never raises."""

    def probe_process(self, process: str) -> Probe:
        """Readiness of one process, waited on before the next one starts. Default: no gate."""
        return Probe(True, "started")

    def prepare(self) -> None:  # noqa: B027 - optional hook; engines without configuration skip it
        """Write configuration and format storage. Called before every start; must be idempotent."""

    def urls(self) -> dict[str, str]:
        return {}

    def log_file(self, process: str) -> Path:
        return self.log_dir / f"{process}.log"

    def start(self, supervisor: Supervisor) -> Probe:
        """Start whatever is not running yet and wait until the engine is ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.prepare()
        timeout = self.settings.startup_timeout_s
        started: list[RunningProcess] = []
        for process in self.process_names:
            try:
                proc = supervisor.start(self.spec(process))
            except SupervisorError as exc:
                raise EngineStartError(self.name, str(exc), self.log_file(process)) from exc
            started.append(proc)
            gate = functools.partial(self.probe_process, process)
            self._wait(supervisor, started, gate, timeout, proc.log_file)
        return self._wait(supervisor, started, self.probe, timeout, started[-1].log_file)

    def _wait(
        self,
        supervisor: Supervisor,
        started: list[RunningProcess],
        probe: Callable[[], Probe],
        timeout_s: float,
        log_file: Path,
    ) -> Probe:
        """Poll `probe` until ready; fail early if one of our processes died meanwhile."""
        deadline = time.monotonic() + timeout_s
        delay = 0.1
        last = Probe(False, "not probed yet")
        while time.monotonic() < deadline:
            last = probe()
            if last.ready:
                return last
            for proc in started:
                if supervisor.find(proc.name) is not None:
                    continue
                if not supervisor.supervised:
                    raise EngineStartError(
                        self.name, f"process {proc.name} exited during start-up", proc.log_file
                    )
                # Supervised: a crash during start-up is restarted with backoff; only a give-up is final.
                gave_up = supervisor.gave_up_on(proc.name)
                if gave_up is not None:
                    raise EngineStartError(
                        self.name,
                        f"process {proc.name} kept failing during start-up; the supervisor gave up after "
                        f"{gave_up.restarts + 1} tries (last: {gave_up.last_exit})",
                        proc.log_file,
                    )
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        raise EngineStartError(self.name, f"not ready after {timeout_s:.0f}s ({last.detail})", log_file)

    def java(self) -> str:
        return str(self.java_home / "bin" / "java")

    def jvm(self, heap_mb: int, classpath: Path, tmp_dir: Path, *flags: str) -> list[str]:
        """A java command line with a fixed-size G1 heap, a private temp dir and a folder of jars."""
        return [
            self.java(),
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            *flags,
            f"-Djava.io.tmpdir={tmp_dir}",
            "-cp",
            f"{classpath}/*",
        ]
