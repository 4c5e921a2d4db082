"""Bring the whole local stack up, down, and report on it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from core.settings import Settings
from stack.apps import APP_PROCESSES, stop_apps
from stack.engines.base import Engine, Probe
from stack.engines.flink import Flink
from stack.engines.kafka import Kafka
from stack.engines.pinot import Pinot
from stack.process import DAEMON, ProcessHealth, RunningProcess, Supervisor
from toolchain.java import find_java_home

ENGINE_TYPES: tuple[type[Engine], ...] = (Kafka, Pinot, Flink)
ENGINE_NAMES = tuple(t.name for t in ENGINE_TYPES)


@dataclass(frozen=True)
class EngineStatus:
    name: str
    processes: dict[str, RunningProcess | None]
    probe: Probe
    urls: dict[str, str]

    @property
    def running(self) -> bool:
        return all(p is not None for p in self.processes.values())

    @property
    def ready(self) -> bool:
        return self.running and self.probe.ready


class Stack:
    def __init__(self, settings: Settings, java_home: Path | None = None) -> None:
        self.settings = settings
        self.supervisor = Supervisor(settings.run_dir)
        home = java_home or find_java_home()
        self.engines = {t.name: t(settings, home) for t in ENGINE_TYPES}

    def _select(self, names: list[str] | None) -> list[Engine]:
        unknown = set(names or []) - set(self.engines)
        if unknown:
            raise ValueError(f"unknown engine(s) {sorted(unknown)}; choose from {list(self.engines)}")
        return [e for name, e in self.engines.items() if not names or name in names]

    def up(self, names: list[str] | None = None) -> list[EngineStatus]:
        """Start the engines concurrently (they are independent) and wait until each is ready.

        Raises EngineStartError for the first engine that failed; the others keep running so their
        state can be inspected, and `down` stops them.
        """
        engines = self._select(names)
        with ThreadPoolExecutor(max_workers=len(engines)) as pool:
            futures = [pool.submit(e.start, self.supervisor) for e in engines]
            errors = [f.exception() for f in futures]
        for error in errors:
            if error is not None:
                raise error
        return self.status(names)

    def down(self, names: list[str] | None = None) -> list[str]:
        """Stop the apps (all engines only), then engines in reverse dependency order; returns the
        processes that were stopped."""
        stopped = stop_apps(self.supervisor) if not names else []
        for engine in reversed(self._select(names)):
            for process in reversed(engine.process_names):
                if self.supervisor.stop(process):
                    stopped.append(process)
        if not names and self.supervisor.stop_daemon():
            stopped.append(DAEMON)
        return stopped

    def kill(self, process: str) -> bool:
        """kill -9 one engine process (fault injection); the supervisor daemon restarts it."""
        return self.supervisor.kill(process)

    def health(self) -> dict[str, ProcessHealth]:
        """The supervisor daemon's record per process: restarts, last exit reason (empty if never ran)."""
        return self.supervisor.health()

    def daemon(self) -> RunningProcess | None:
        return self.supervisor.daemon()

    def status(self, names: list[str] | None = None) -> list[EngineStatus]:
        result = []
        for engine in self._select(names):
            procs = {p: self.supervisor.find(p) for p in engine.process_names}
            if all(procs.values()):
                probe = engine.probe()
            else:
                missing = [p for p, r in procs.items() if r is None]
                probe = Probe(False, f"not running: {', '.join(missing)}")
            result.append(EngineStatus(engine.name, procs, probe, engine.urls()))
        return result

    def log_file(self, process: str) -> Path:
        if process in (*APP_PROCESSES, DAEMON):
            return self.settings.run_dir / "logs" / f"{process}.log"
        for engine in self.engines.values():
            if process in engine.process_names:
                return engine.log_file(process)
        names = [p for e in self.engines.values() for p in e.process_names]
        raise ValueError(f"unknown process {process!r}; choose from {[*names, *APP_PROCESSES, DAEMON]}")
