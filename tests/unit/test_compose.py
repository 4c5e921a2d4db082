"""docker-compose.yml runs the same engines, versions and sizes as the local stack."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings
from stack.engines.flink import Flink
from toolchain.versions import REPO_ROOT, versions

COMPOSE = REPO_ROOT / "docker-compose.yml"


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _flink_properties(compose: dict[str, Any]) -> dict[str, str]:
    text = compose["services"]["flink-jobmanager"]["environment"]["FLINK_PROPERTIES"]
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in text.splitlines() if line)}


def test_engine_versions_come_from_the_single_pin() -> None:
    v, services = versions(), _compose()["services"]
    assert services["kafka"]["image"] == f"apache/kafka:{v.kafka}"
    for role in ("pinot-controller", "pinot-broker", "pinot-server"):
        assert services[role]["image"] == f"apachepinot/pinot:{v.pinot}"
    args = services["flink-jobmanager"]["build"]["args"]
    assert args == {"FLINK_VERSION": v.flink, "FLINK_KAFKA_CONNECTOR": v.flink_kafka_connector}
    assert services["api"]["build"]["args"] == args
    dockerfile = (REPO_ROOT / "docker" / "flink.Dockerfile").read_text()
    assert "FROM flink:${FLINK_VERSION}-scala_2.12-java" + v.java in dockerfile


def test_engine_settings_mirror_the_local_stack() -> None:
    s, compose = Settings(), _compose()
    props = _flink_properties(compose)
    assert props["taskmanager.numberOfTaskSlots"] == str(s.flink_taskmanager_slots)
    assert props["taskmanager.memory.process.size"] == f"{s.flink_taskmanager_process_mb}m"
    assert props["jobmanager.memory.process.size"] == f"{s.flink_jobmanager_process_mb}m"
    assert props["state.backend.type"] == "hashmap"
    local = Flink(s, Path("/nonexistent-jdk")).config()
    assert props["taskmanager.memory.managed.fraction"] == str(local["taskmanager.memory.managed.fraction"])
    kafka = compose["services"]["kafka"]["environment"]
    assert kafka["KAFKA_HEAP_OPTS"] == f"-Xms{s.kafka_heap_mb}m -Xmx{s.kafka_heap_mb}m"
    assert kafka["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert int(kafka["KAFKA_TRANSACTION_MAX_TIMEOUT_MS"]) > s.kafka_transaction_timeout_s * 1000


def test_services_wait_for_what_they_need_and_publish_on_loopback_only() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
    assert services["pipeline"]["depends_on"]["tables"]["condition"] == "service_completed_successfully"
    assert services["api"]["environment"]["RTA_PINOT_BROKER_HOST"] == "pinot-broker"
    for dockerfile in ("docker/app.Dockerfile", "docker/flink.Dockerfile"):
        assert Path(REPO_ROOT / dockerfile).is_file()


def test_the_app_image_installs_the_dashboard_libraries_from_the_lock_file() -> None:
    dockerfile = (REPO_ROOT / "docker" / "app.Dockerfile").read_text()
    assert "COPY api/dashboard/package.json api/dashboard/package-lock.json" in dockerfile
    assert "npm ci --omit=dev --ignore-scripts" in dockerfile
    assert "/app/api/dashboard/node_modules" in dockerfile


def test_prometheus_scrapes_the_api_with_the_documented_rules() -> None:
    services = _compose()["services"]
    assert "./docker/prometheus-rules.yml:/etc/prometheus/rules.yml:ro" in services["prometheus"]["volumes"]
    config = yaml.safe_load((REPO_ROOT / "docker" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert (job["metrics_path"], job["static_configs"][0]["targets"]) == ("/prometheus", ["api:8000"])
    rules = yaml.safe_load((REPO_ROOT / "docker" / "prometheus-rules.yml").read_text())
    docs = (REPO_ROOT / "docs" / "operations.md").read_text()
    documented = next(
        b for b in re.findall(r"```yaml\n(.*?)```", docs, flags=re.S) if b.startswith("groups:")
    )
    assert rules == yaml.safe_load(documented)
    # Every series a rule reads is one the API exports.
    exported = set(re.findall(r'"(rta_[a-z_]+)"', (REPO_ROOT / "api" / "observability.py").read_text()))
    for rule in rules["groups"][0]["rules"]:
        for name in re.findall(r"\b(rta_[a-z_]+)", rule["expr"]):
            base = re.sub(r"_(total|bucket|count|sum)$", "", name)
            assert base in exported, (rule["alert"], name)


def test_docker_heals_like_the_local_stack() -> None:
    """Long-running services restart when they crash; Flink's HA and restart settings equal the local
    stack's, but for the addresses that differ inside the network."""
    services = _compose()["services"]
    one_shot = {"tables", "pipeline"}
    for name, service in services.items():
        want = "no" if name in one_shot else "unless-stopped"
        assert service.get("restart") == want, name
    props = _flink_properties(_compose())
    local = Flink(Settings(), Path("/nonexistent-jdk")).config()
    keys = [k for k in local if k.startswith(("high-availability.", "restart-strategy."))]
    assert len(keys) >= 10
    differ = {
        "high-availability.zookeeper.quorum",
        "high-availability.storageDir",
        "high-availability.jobmanager.port",
    }
    for key in keys:
        value = local[key]
        want = str(value).lower() if isinstance(value, bool) else str(value)
        if key not in differ:
            assert props[key] == want, key
    assert props["high-availability.zookeeper.quorum"] == "pinot-zookeeper:2181"
    assert services["flink-jobmanager"]["depends_on"]["pinot-zookeeper"] == {"condition": "service_healthy"}
