"""Apache Pinot: ZooKeeper, then controller, broker and server in one service-manager JVM.

One JVM for the three roles saves ~1 GiB over three JVMs on a 2-core machine; on a real cluster
each role runs on its own nodes from the same config files.
"""

from __future__ import annotations

import socket

import httpx

from provisioning import pinot_tables
from stack.engines.base import Engine, Probe
from stack.process import ProcessSpec, Supervisor
from toolchain import paths

# From Pinot's own launcher: what Java 17 needs opened for Pinot's off-heap and Netty code.
_JAVA17_OPENS = [
    f"--add-opens=java.base/{pkg}=ALL-UNNAMED"
    for pkg in ("java.nio", "sun.nio.ch", "java.lang", "java.util", "java.lang.reflect", "jdk.internal.misc")
] + ["-Dio.netty.tryReflectionSetAccessible=true"]
# Helix's ZooKeeper session (default 30 s): a restarted Pinot re-registers its instances only once the
# killed one's session has expired, so this bounds how long a crash keeps Pinot away.
_ZK_SESSION = ["-Dzk.session.timeout=15000"]

ADMIN_MAIN = "org.apache.pinot.tools.admin.PinotAdministrator"
# Pinot registers instances under a hostname; without this it picks the machine's outbound address.
INSTANCE_HOST = "localhost"
ZOOKEEPER = "pinot-zookeeper"  # the process; Flink's high availability uses it too


class Pinot(Engine):
    name = "pinot"

    @property
    def process_names(self) -> list[str]:
        return [ZOOKEEPER, "pinot"]

    def _role_configs(self) -> dict[str, dict[str, str]]:
        s = self.settings
        zk = s.zookeeper_address
        common = {"pinot.cluster.name": s.pinot_cluster, "pinot.zk.server": zk}
        return {
            "controller": {
                "pinot.service.role": "CONTROLLER",
                "controller.zk.str": zk,
                "controller.helix.cluster.name": s.pinot_cluster,
                "controller.host": INSTANCE_HOST,
                "controller.port": str(s.port(s.pinot_controller_port)),
                "controller.data.dir": str(self.home / "controller-data"),
                "controller.local.temp.dir": str(self.home / "controller-tmp"),
                "controller.mode": "dual",
            },
            "broker": {
                **common,
                "pinot.service.role": "BROKER",
                "pinot.broker.hostname": INSTANCE_HOST,
                "pinot.broker.client.queryPort": str(s.port(s.pinot_broker_port)),
                "pinot.query.runner.port": str(s.port(8421)),
            },
            "server": {
                **common,
                "pinot.service.role": "SERVER",
                "pinot.server.netty.host": INSTANCE_HOST,
                "pinot.server.netty.port": str(s.port(s.pinot_server_netty_port)),
                "pinot.server.adminapi.port": str(s.port(s.pinot_server_admin_port)),
                "pinot.server.grpc.port": str(s.port(s.pinot_server_grpc_port)),
                "pinot.query.server.port": str(s.port(8422)),
                "pinot.query.runner.port": str(s.port(8442)),
                "pinot.server.instance.dataDir": str(self.home / "server-data"),
                "pinot.server.instance.segmentTarDir": str(self.home / "server-segments"),
            },
        }

    def prepare(self) -> None:
        for role, config in self._role_configs().items():
            (self.home / f"{role}.conf").write_text("".join(f"{k}={v}\n" for k, v in config.items()))

    def _java_cmd(self, heap_mb: int) -> list[str]:
        flags = [*_JAVA17_OPENS, *_ZK_SESSION]
        return [*self.jvm(heap_mb, paths.lib_dir("pinot"), self.home / "tmp", *flags), ADMIN_MAIN]

    def spec(self, process: str) -> ProcessSpec:
        s = self.settings
        (self.home / "tmp").mkdir(parents=True, exist_ok=True)
        if process == ZOOKEEPER:
            argv = [
                *self._java_cmd(s.zookeeper_heap_mb),
                "StartZookeeper",
                "-zkPort",
                str(s.port(s.zookeeper_port)),
                "-dataDir",
                str(self.home / "zookeeper"),
            ]
        else:
            argv = [
                *self._java_cmd(s.pinot_heap_mb),
                "StartServiceManager",
                "-zkAddress",
                s.zookeeper_address,
                "-clusterName",
                s.pinot_cluster,
                "-port",
                "-1",
                "-bootstrapConfigPaths",
                *(str(self.home / f"{role}.conf") for role in ("controller", "broker", "server")),
            ]
        return ProcessSpec(name=process, argv=argv, log_file=self.log_file(process), cwd=self.home)

    def probe_process(self, process: str) -> Probe:
        if process == ZOOKEEPER:
            return zookeeper_probe(self.settings.host, self.settings.port(self.settings.zookeeper_port))
        return Probe(True, "started")

    def probe(self) -> Probe:
        s = self.settings
        checks = {
            "controller": f"{s.pinot_controller_url}/health",
            "broker": f"{s.pinot_broker_url}/health",
            "server": f"http://{s.host}:{s.port(s.pinot_server_admin_port)}/health",
        }
        down = []
        with httpx.Client(timeout=2.0) as client:
            for role, url in checks.items():
                try:
                    if client.get(url).status_code != 200:
                        down.append(role)
                except httpx.HTTPError:
                    down.append(role)
            if down:
                return Probe(False, f"not healthy: {', '.join(down)}")
            try:
                instances = client.get(f"{s.pinot_controller_url}/instances").json().get("instances", [])
            except (httpx.HTTPError, ValueError):
                return Probe(False, "controller did not list instances")
        missing = sorted(set(self.own_instances()) - set(instances))
        if missing:
            return Probe(False, f"instances not registered yet: {missing}")
        return Probe(True, f"controller, broker, server healthy; {len(instances)} instances")

    def own_instances(self) -> list[str]:
        """The Helix instance names this stack's Pinot registers (role, host, port)."""
        s = self.settings
        return [
            f"Controller_{INSTANCE_HOST}_{s.port(s.pinot_controller_port)}",
            f"Broker_{INSTANCE_HOST}_{s.port(s.pinot_broker_port)}",
            f"Server_{INSTANCE_HOST}_{s.port(s.pinot_server_netty_port)}",
        ]

    def start(self, supervisor: Supervisor) -> Probe:
        probe = super().start(supervisor)
        forgot, kept = self.forget_stale_instances()
        notes = [f"forgot stale instances {forgot}"] if forgot else []
        if kept:  # Pinot refuses to drop an instance that tables still name (HTTP 409)
            notes.append(f"stale instances {kept} still hold segments: rebalance those tables")
        return Probe(probe.ready, "; ".join([probe.detail, *notes]))

    def forget_stale_instances(self) -> tuple[list[str], list[str]]:
        """Drop the instances the cluster remembers from a run on other ports (ZooKeeper keeps them in
        the run directory). Helix still assigns new tables' segments to such a dead, enabled server, so
        a table would silently consume only some of its partitions. Only instances that are neither
        ours nor live go. Returns (dropped, refused)."""
        s = self.settings
        with httpx.Client(base_url=s.pinot_controller_url, timeout=10.0) as client:
            known = client.get("/instances").json().get("instances", [])
            live = pinot_tables.live_instances(client, s)
            stale = [i for i in known if i not in self.own_instances() and i not in live]
            refused = [name for name in stale if client.delete(f"/instances/{name}").status_code >= 400]
        return [name for name in stale if name not in refused], refused

    def urls(self) -> dict[str, str]:
        return {
            "Pinot console": self.settings.pinot_controller_url,
            "Pinot broker (SQL)": f"{self.settings.pinot_broker_url}/query/sql",
        }


def zookeeper_probe(host: str, port: int) -> Probe:
    """ZooKeeper's 'srvr' four-letter word (the only one whitelisted by default) answers when serving."""
    try:
        with socket.create_connection((host, port), timeout=2.0) as sock:
            sock.sendall(b"srvr")
            answer = sock.recv(256)
    except OSError as exc:
        return Probe(False, f"zookeeper not reachable ({exc.__class__.__name__})")
    serving = answer.startswith(b"Zookeeper version")
    return Probe(serving, "zookeeper serving" if serving else f"zookeeper answered {answer[:60]!r}")
