import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_defaults_bind_everything_to_loopback() -> None:
    s = Settings()
    assert s.host == "127.0.0.1"
    assert s.kafka_bootstrap == "127.0.0.1:9092"
    assert s.flink_rest_url == "http://127.0.0.1:8081"
    assert s.pinot_controller_url == "http://127.0.0.1:9000"


def test_port_offset_shifts_every_port_together() -> None:
    s = Settings(port_offset=10000)
    assert s.kafka_bootstrap.endswith(":19092")
    assert s.flink_rest_url.endswith(":18081")
    assert s.pinot_broker_url.endswith(":18099")
    assert s.zookeeper_address.endswith(":12181")


def test_bad_environment_values_fail_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTA_PORT_OFFSET", "lots")
    with pytest.raises(ValidationError, match="port_offset"):
        Settings()


def test_offset_beyond_the_port_range_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds 65535"):
        Settings(port_offset=50000, kafka_port=20000).kafka_bootstrap  # noqa: B018
