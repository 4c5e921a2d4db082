"""Apache Kafka, one KRaft node in combined broker+controller mode, from the jars in the cache."""

from __future__ import annotations

import base64
import subprocess
import uuid

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from stack.engines.base import Engine, EngineStartError, Probe
from stack.process import ProcessSpec
from toolchain import paths

_LOG4J2 = """\
status = warn
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
# The request and state-change loggers are chatty at INFO; keep the log readable.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def new_cluster_id() -> str:
    """16 random bytes, URL-safe base64 without padding, as Kafka makes them; like Kafka's own
    generator it never starts with '-', which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class Kafka(Engine):
    name = "kafka"

    @property
    def process_names(self) -> list[str]:
        return ["kafka"]

    def _server_properties(self) -> str:
        s = self.settings
        broker, controller = s.port(s.kafka_port), s.port(s.kafka_controller_port)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{s.host}:{controller}",
            "listeners": f"PLAINTEXT://{s.host}:{broker},CONTROLLER://{s.host}:{controller}",
            "advertised.listeners": f"PLAINTEXT://{s.host}:{broker}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            # One node: internal topics cannot be replicated.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Topics are created on purpose (with partitions and keys chosen); a typo must not create one.
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            "group.initial.rebalance.delay.ms": "0",
            # Upper bound for producers' transaction timeouts; Flink's exactly-once sink stays below it.
            "transaction.max.timeout.ms": "900000",
            "log.retention.hours": "168",
        }
        return "".join(f"{k}={v}\n" for k, v in props.items())

    def prepare(self) -> None:
        config = self.home / "server.properties"
        config.write_text(self._server_properties())
        (self.home / "log4j2.properties").write_text(_LOG4J2)
        # KRaft storage is formatted once with a cluster id kept beside the data.
        id_file = self.home / "cluster.id"
        formatted = (self.home / "data" / "meta.properties").exists()
        if not id_file.exists() or (not formatted and id_file.read_text().startswith("-")):
            id_file.write_text(new_cluster_id() + "\n")  # (older ids could start with '-': never used)
        if formatted:
            return
        result = subprocess.run(
            [
                *self._java_cmd(512),
                "kafka.tools.StorageTool",
                "format",
                "-t",
                id_file.read_text().strip(),
                "-c",
                str(config),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log = self.log_file("kafka")
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(result.stdout + result.stderr)
            raise EngineStartError(self.name, "formatting KRaft storage failed", log)

    def _java_cmd(self, heap_mb: int) -> list[str]:
        log_config = f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}"
        return self.jvm(heap_mb, paths.lib_dir("kafka"), self.home, log_config)

    def spec(self, process: str) -> ProcessSpec:
        return ProcessSpec(
            name="kafka",
            argv=[
                *self._java_cmd(self.settings.kafka_heap_mb),
                "kafka.Kafka",
                str(self.home / "server.properties"),
            ],
            log_file=self.log_file("kafka"),
            cwd=self.home,
        )

    def probe(self) -> Probe:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.settings.kafka_bootstrap,
                request_timeout_ms=3000,
                bootstrap_timeout_ms=3000,
                client_id="rta-probe",
            )
        except KafkaError as exc:
            return Probe(False, f"no broker at {self.settings.kafka_bootstrap} ({type(exc).__name__})")
        try:
            cluster = admin.describe_cluster()
            brokers = len(cluster.get("brokers", []))
            return Probe(brokers > 0, f"{brokers} broker(s), cluster {cluster.get('cluster_id')}")
        except KafkaError as exc:
            return Probe(False, f"metadata request failed ({type(exc).__name__})")
        finally:
            admin.close()

    def urls(self) -> dict[str, str]:
        return {"Kafka bootstrap": self.settings.kafka_bootstrap}
