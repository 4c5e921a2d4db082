"""Apache Flink session cluster (JobManager + TaskManager) from the `apache-flink` wheel.

The wheel carries the Flink runtime and its launch scripts; FLINK_HOME is the installed `pyflink`
package. The scripts' `start-foreground` mode execs the JVM, so the PID we record is the JVM's own.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from core.settings import Settings
from stack.engines.base import Engine, EngineStartError, Probe
from stack.engines.pinot import ZOOKEEPER, zookeeper_probe
from stack.process import ProcessSpec, Supervisor


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


def state_backend_config(s: Settings) -> dict[str, Any]:
    """The cluster's state backend options. Each job names its own backend (flink_jobs.pipeline.job_config);
    the cluster's default, hashmap, serves jobs submitted before that, which Flink's high availability
    brings back with their original configuration and hashmap checkpoints."""
    return {
        "state.backend.type": "hashmap",
        # RocksDB's block cache and write buffers come out of managed memory; with state on the heap,
        # nothing uses it (only RocksDB, batch and Python operators do), so all of it goes to the heap.
        "taskmanager.memory.managed.fraction": 0.3 if s.flink_state_backend == "rocksdb" else 0.0,
    }


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
            **state_backend_config(s),
            "taskmanager.numberOfTaskSlots": s.flink_taskmanager_slots,
            "parallelism.default": 1,
            "rest.address": s.host,
            "rest.bind-address": s.host,
            "rest.port": s.port(s.flink_rest_port),
            "execution.checkpointing.dir": (self.home / "checkpoints").as_uri(),
            "execution.checkpointing.savepoint-dir": (self.home / "savepoints").as_uri(),
            "io.tmp.dirs": str(self.home / "tmp"),
            # Two cores shared by three engines: a long GC or CPU stall is not a dead TaskManager.
            "heartbeat.timeout": 120000,
            "jobmanager.execution.failover-strategy": "region",
            # The dashboard's per-operator flame graphs (sampled only while someone looks at one).
            "rest.flamegraph.enabled": True,
            # High availability on the stack's ZooKeeper: a JobManager that is restarted (by the
            # supervisor) finds the running jobs there and resumes each from its latest checkpoint,
            # and the TaskManager learns the new leader's address from it at once.
            "high-availability.type": "zookeeper",
            "high-availability.zookeeper.quorum": s.zookeeper_address,
            "high-availability.zookeeper.path.root": "/flink",
            "high-availability.cluster-id": "/rta",
            "high-availability.storageDir": (self.home / "ha").as_uri(),
            # In HA mode the JobManager's RPC port comes from here, not jobmanager.rpc.port.
            "high-availability.jobmanager.port": str(s.port(s.flink_rpc_port)),
            # One JobManager: no other leader can take over during a ZooKeeper blip, so a lost
            # connection (ZooKeeper restarting) need not stop the jobs; an expired session still does.
            "high-availability.zookeeper.client.tolerate-suspended-connections": True,
            # A killed JobManager's leadership lasts until its ZooKeeper session expires (default 60 s):
            # the restarted one waits that long before it can resume the jobs.
            "high-availability.zookeeper.client.session-timeout": 15000,
            # Flink's default backs off up to a minute and forgets earlier failures only after an hour
            # of calm: after a few engine restarts the job would sit idle for a minute each time.
            "restart-strategy.type": "exponential-delay",
            "restart-strategy.exponential-delay.initial-backoff": "1 s",
            "restart-strategy.exponential-delay.max-backoff": "10 s",
            "restart-strategy.exponential-delay.backoff-multiplier": 2.0,
            "restart-strategy.exponential-delay.reset-backoff-threshold": "2 min",
        }
        merged = {**_flatten(shipped), **ours}
        opts = str(merged.get("env.java.opts.all", ""))
        merged["env.java.opts.all"] = f"{opts} -Djava.io.tmpdir={self.home / 'tmp'}".strip()
        return merged

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", "log", "checkpoints", "savepoints", "ha"):
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

    def start(self, supervisor: Supervisor) -> Probe:
        """Wait for ZooKeeper (started with Pinot; Flink's HA keeps its leader and jobs there) first."""
        s = self.settings
        started = time.monotonic()
        zookeeper = zookeeper_probe(s.host, s.port(s.zookeeper_port))
        while not zookeeper.ready and time.monotonic() < started + s.startup_timeout_s:
            # `rta up` starts Pinot (and its ZooKeeper) beside Flink: give it a moment to ask for it.
            asked = supervisor.find(ZOOKEEPER) or supervisor.wanted_file(ZOOKEEPER).exists()
            if not asked and time.monotonic() > started + 10:
                break
            time.sleep(0.5)
            zookeeper = zookeeper_probe(s.host, s.port(s.zookeeper_port))
        if not zookeeper.ready:
            raise EngineStartError(
                self.name,
                f"ZooKeeper at {s.zookeeper_address} is not serving ({zookeeper.detail}); Flink's high "
                "availability needs it: `rta up pinot` starts it",
                self.log_file("flink-jobmanager"),
            )
        return super().start(supervisor)

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
