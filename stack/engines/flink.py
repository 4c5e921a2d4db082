"""Apache Flink session cluster (JobManager + TaskManager) from the `apache-flink` wheel.

The wheel carries the Flink runtime and its launch scripts; FLINK_HOME is the installed `pyflink`
package. The scripts' `start-foreground` mode execs the JVM, so the PID we record is the JVM's own.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import httpx
import yaml

from stack.engines.base import Engine, Probe
from stack.process import ProcessSpec


def flink_home() -> Path:
    spec = importlib.util.find_spec("pyflink")
    if spec is None or spec.origin is None:
        raise RuntimeError("apache-flink is not installed in this environment; run `make setup`")
    return Path(spec.origin).parent


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


class Flink(Engine):
    name = "flink"

    @property
    def process_names(self) -> list[str]:
        return ["flink-jobmanager", "flink-taskmanager"]

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    def config(self) -> dict[str, Any]:
        """The shipped config.yaml (it carries the JVM --add-opens Flink needs), with our settings on top."""
        s = self.settings
        shipped = yaml.safe_load((flink_home() / "conf" / "config.yaml").read_text()) or {}
        ours: dict[str, Any] = {
            "jobmanager.rpc.address": s.host,
            "jobmanager.rpc.port": s.port(s.flink_rpc_port),
            "jobmanager.bind-host": s.host,
            "jobmanager.memory.process.size": f"{s.flink_jobmanager_process_mb}m",
            "taskmanager.bind-host": s.host,
            "taskmanager.host": s.host,
            "taskmanager.memory.process.size": f"{s.flink_taskmanager_process_mb}m",
            # State lives on the heap (hashmap backend); managed memory only serves RocksDB, batch and
            # Python operators, none of which the job uses, so all of it goes to the heap that holds state.
            "taskmanager.memory.managed.fraction": 0.0,
            "taskmanager.numberOfTaskSlots": s.flink_taskmanager_slots,
            "parallelism.default": 1,
            "rest.address": s.host,
            "rest.bind-address": s.host,
            "rest.port": s.port(s.flink_rest_port),
            "state.backend.type": "hashmap",
            "execution.checkpointing.dir": (self.home / "checkpoints").as_uri(),
            "execution.checkpointing.savepoint-dir": (self.home / "savepoints").as_uri(),
            "io.tmp.dirs": str(self.home / "tmp"),
            # Two cores shared by three engines: a long GC or CPU stall is not a dead TaskManager.
            "heartbeat.timeout": 120000,
            "jobmanager.execution.failover-strategy": "region",
            # The dashboard's per-operator flame graphs (sampled only while someone looks at one).
            "rest.flamegraph.enabled": True,
        }
        merged = {**_flatten(shipped), **ours}
        opts = str(merged.get("env.java.opts.all", ""))
        merged["env.java.opts.all"] = f"{opts} -Djava.io.tmpdir={self.home / 'tmp'}".strip()
        return merged

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", "log", "checkpoints", "savepoints"):
            (self.home / sub).mkdir(exist_ok=True)
        shipped = flink_home() / "conf"
        for name in (
            "log4j-console.properties",
            "log4j.properties",
            "log4j-cli.properties",
            "logback-console.xml",
            "logback.xml",
        ):
            if (shipped / name).exists():
                shutil.copyfile(shipped / name, self.conf_dir / name)
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump(self.config(), sort_keys=True))

    def env(self) -> dict[str, str]:
        return {
            "JAVA_HOME": str(self.java_home),
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(self.home / "log"),
            "FLINK_PID_DIR": str(self.home / "tmp"),
            "TMPDIR": str(self.home / "tmp"),
        }

    def spec(self, process: str) -> ProcessSpec:
        script = {"flink-jobmanager": "jobmanager.sh", "flink-taskmanager": "taskmanager.sh"}[process]
        return ProcessSpec(
            name=process,
            argv=["bash", str(flink_home() / "bin" / script), "start-foreground"],
            log_file=self.log_file(process),
            cwd=self.home,
            env=self.env(),
        )

    def _overview(self) -> dict[str, Any] | None:
        try:
            response = httpx.get(f"{self.settings.flink_rest_url}/overview", timeout=2.0)
            response.raise_for_status()
            data: dict[str, Any] = response.json()
            return data
        except (httpx.HTTPError, ValueError):
            return None

    def probe_process(self, process: str) -> Probe:
        if process == "flink-jobmanager":
            ok = self._overview() is not None
            return Probe(ok, "REST up" if ok else "REST not answering")
        return Probe(True, "started")

    def probe(self) -> Probe:
        overview = self._overview()
        if overview is None:
            return Probe(False, f"REST {self.settings.flink_rest_url}/overview not answering")
        tms, slots = overview.get("taskmanagers", 0), overview.get("slots-total", 0)
        detail = (
            f"{tms} taskmanager(s), {overview.get('slots-available', 0)}/{slots} slots free, "
            f"{overview.get('jobs-running', 0)} job(s) running, Flink {overview.get('flink-version')}"
        )
        return Probe(tms >= 1 and slots >= 1, detail)

    def urls(self) -> dict[str, str]:
        return {"Flink dashboard": self.settings.flink_rest_url}
