import base64
from pathlib import Path

from core.settings import Settings
from stack.engines.flink import Flink
from stack.engines.kafka import Kafka, new_cluster_id
from stack.engines.pinot import Pinot

JAVA = Path("/nonexistent-jdk")


def test_flink_binds_to_loopback_and_keeps_the_shipped_jvm_flags(tmp_path: Path) -> None:
    conf = Flink(Settings(run_dir=tmp_path, port_offset=5), JAVA).config()
    assert conf["rest.bind-address"] == "127.0.0.1"
    assert conf["rest.port"] == 8086
    assert conf["jobmanager.bind-host"] == conf["taskmanager.bind-host"] == "127.0.0.1"
    assert "--add-opens=java.base/java.util=ALL-UNNAMED" in conf["env.java.opts.all"]
    assert str(tmp_path) in conf["execution.checkpointing.dir"]
    assert not any(isinstance(v, dict) for v in conf.values()), "config must be flat keys"


def test_kafka_listens_on_loopback_with_single_node_internal_topics(tmp_path: Path) -> None:
    props = dict(
        line.split("=", 1)
        for line in Kafka(Settings(run_dir=tmp_path), JAVA)._server_properties().splitlines()
    )
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["auto.create.topics.enable"] == "false"


def test_pinot_instances_register_as_localhost(tmp_path: Path) -> None:
    configs = Pinot(Settings(run_dir=tmp_path), JAVA)._role_configs()
    assert configs["controller"]["controller.host"] == "localhost"
    assert configs["broker"]["pinot.broker.hostname"] == "localhost"
    assert configs["server"]["pinot.server.netty.host"] == "localhost"
    assert configs["server"]["pinot.server.instance.dataDir"].startswith(str(tmp_path))


def test_kafka_cluster_ids_are_16_bytes_and_never_look_like_an_option() -> None:
    # One id in 64 would start with '-' if drawn naively; 2,000 draws make a regression near-certain to show.
    ids = [new_cluster_id() for _ in range(2000)]
    assert not any(i.startswith("-") for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)
