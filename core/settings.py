"""Settings for every component, from environment variables prefixed RTA_ (or a .env file).

Ports are written once here. `port_offset` shifts every port of the local stack together so that a
second stack (the test suite's) can run beside the demo one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict

from stack.versions import REPO_ROOT

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RTA_", env_file=".env", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port_offset: Annotated[int, Field(ge=0, le=50000)] = 0
    run_dir: Path = REPO_ROOT / ".run" / "stack"

    kafka_port: Port = 9092
    kafka_controller_port: Port = 9093
    flink_rest_port: Port = 8081
    flink_rpc_port: Port = 6123
    zookeeper_port: Port = 2181
    pinot_controller_port: Port = 9000
    pinot_broker_port: Port = 8099
    pinot_server_netty_port: Port = 8098
    pinot_server_admin_port: Port = 8097
    pinot_server_grpc_port: Port = 8090
    pinot_cluster: str = "rta"

    # Heaps for a 2-core / 24 GiB machine shared by all engines (see README, "Sizing").
    kafka_heap_mb: Annotated[int, Field(ge=256)] = 768
    zookeeper_heap_mb: Annotated[int, Field(ge=64)] = 128
    pinot_heap_mb: Annotated[int, Field(ge=512)] = 1536
    flink_jobmanager_process_mb: Annotated[int, Field(ge=768)] = 1024
    flink_taskmanager_process_mb: Annotated[int, Field(ge=1024)] = 3072
    flink_taskmanager_slots: Annotated[int, Field(ge=1, le=64)] = 4

    startup_timeout_s: Annotated[float, Field(gt=0)] = 180.0

    def port(self, base: int) -> int:
        shifted = base + self.port_offset
        if shifted > 65535:
            raise ValueError(f"port {base} + RTA_PORT_OFFSET {self.port_offset} exceeds 65535")
        return shifted

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.host}:{self.port(self.kafka_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flink_rest_url(self) -> str:
        return f"http://{self.host}:{self.port(self.flink_rest_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pinot_controller_url(self) -> str:
        return f"http://{self.host}:{self.port(self.pinot_controller_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pinot_broker_url(self) -> str:
        return f"http://{self.host}:{self.port(self.pinot_broker_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def zookeeper_address(self) -> str:
        return f"{self.host}:{self.port(self.zookeeper_port)}"


@cache
def get_settings() -> Settings:
    return Settings()
