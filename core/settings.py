"""Settings for every component, from environment variables prefixed RTA_ (or a .env file).

Ports are written once here. `port_offset` shifts every port of the local stack together so that a
second stack (the test suite's) can run beside the demo one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_CHECKOUT = Path(__file__).resolve().parent.parent
"""The checkout this package runs from (the default run directory is inside it)."""

Port = Annotated[int, Field(ge=1, le=65535)]


class ApiKey(BaseModel):
    """One API key, as configured: its SHA-256 (never the key), what it may read, how fast (api/auth.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    scopes: tuple[Literal["metrics", "sessions", "kafka", "ops"], ...] = ("metrics",)
    rate_per_s: Annotated[float, Field(gt=0, le=100_000)] = 20.0
    burst: Annotated[int, Field(ge=1, le=1_000_000)] = 60


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RTA_", env_file=".env", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    """Where the local stack's engines listen (and where clients find them unless told otherwise)."""
    # Clients only: where to reach each engine when it is not on `host` (docker-compose service names,
    # a real cluster's load balancers). Unset means `host`.
    kafka_host: str | None = None
    flink_host: str | None = None
    pinot_controller_host: str | None = None
    pinot_broker_host: str | None = None
    port_offset: Annotated[int, Field(ge=0, le=50000)] = 0
    run_dir: Path = _CHECKOUT / ".run" / "stack"

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
    api_port: Port = 8000
    api_cache_ttl_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    """How long the API reuses a Pinot answer to the same query (0 = never): bounds staleness."""
    api_response_cache: bool = True
    """Reuse a whole metric response for the same URL within the same second while the cached Pinot
    answers it was computed from hold (api/response_cache.py); needs api_cache_ttl_s > 0."""
    api_bind_host: str = "127.0.0.1"
    """The address the API listens on (`make demo`, `rta up`); not loopback turns access control on."""
    api_auth: Literal["auto", "on", "off"] = "auto"
    """API keys required: `auto` = whenever api_bind_host is not a loopback address."""
    api_keys: tuple[ApiKey, ...] = ()
    """JSON list, e.g. [{"name": "dashboard", "sha256": "...", "scopes": ["metrics", "sessions"]}]."""
    api_live_interval_s: Annotated[float, Field(ge=0.2, le=60)] = 2.0
    """How often `/metrics/stream` pushes the newest minutes (one computation per filter set, shared)."""
    api_live_minutes: Annotated[int, Field(ge=1, le=60)] = 5
    """How many of the newest minutes each push carries."""
    api_live_max_feeds: Annotated[int, Field(ge=1, le=10_000)] = 64
    """Distinct filter sets streamed at once; a client asking for one more gets a 503."""
    api_tables: dict[str, str] = {}
    """Pinot table per dataset where not the default, JSON: {"events": "events_blue"} (a second copy)."""

    demo_rate: Annotated[float, Field(gt=0, le=100_000)] = 50.0
    """Events/s the demo's generator sends (`make demo`)."""

    # Alerts (api/alerting/, docs/operations.md "Alerts"). A rule whose threshold is 0 is off.
    alert_interval_s: Annotated[float, Field(ge=0, le=3600)] = 15.0
    """How often the API evaluates the alert rules (0 = never: alerts are listed, not evaluated)."""
    alert_window_s: Annotated[int, Field(ge=60, le=86400)] = 300
    """The window the dead-letter share, conversion and job restarts are judged over (conversion: twice)."""
    alert_no_events_s: Annotated[int, Field(ge=0, le=86400)] = 300
    """Fire when no event has been accepted (arrival time) for this long."""
    alert_dead_letter_share_pct: Annotated[float, Field(ge=0, le=100)] = 5.0
    """Fire when dead letters exceed this share (%) of all records that arrived in the window."""
    alert_conversion_drop_pct: Annotated[float, Field(ge=0, le=100)] = 50.0
    """Fire when view -> purchase conversion is this much (%) below the previous window's."""
    alert_conversion_min_views: Annotated[int, Field(ge=1, le=10_000_000)] = 100
    """Product views the previous window needs before a conversion drop is judged at all."""
    alert_freshness_s: Annotated[float, Field(ge=0, le=86400)] = 180.0
    """Fire when the newest final minute (meta.as_of) is older than this."""
    alert_job_restarts: Annotated[int, Field(ge=0, le=1000)] = 1
    """Fire when the Flink job is not RUNNING or restarted this many times within the window."""
    alert_webhook_url: str | None = None
    """Where each alert change is POSTed as JSON (unset: alerts are listed at GET /alerts only)."""
    alert_webhook_timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    """How long one webhook POST may take before it counts as failed (and is retried)."""
    alert_webhook_max_backoff_s: Annotated[float, Field(ge=0.1, le=3600)] = 60.0
    """The longest wait between retries of an undelivered webhook post (waits double from 1 s)."""

    # Heaps for a 2-core / 24 GiB machine shared by all engines (see README, "Sizing").
    kafka_heap_mb: Annotated[int, Field(ge=256)] = 768
    zookeeper_heap_mb: Annotated[int, Field(ge=64)] = 128
    pinot_heap_mb: Annotated[int, Field(ge=512)] = 1536
    flink_jobmanager_process_mb: Annotated[int, Field(ge=768)] = 1024
    flink_taskmanager_process_mb: Annotated[int, Field(ge=1024)] = 4096
    flink_taskmanager_slots: Annotated[int, Field(ge=1, le=64)] = 4
    flink_state_backend: Literal["hashmap", "rocksdb"] = "hashmap"
    """Where the job keeps its state. rocksdb: on local disk, each checkpoint writes only the files made
    since the previous one (incremental); hashmap: on the JVM heap, faster per record, but every
    checkpoint writes the whole state. hashmap is the default: RocksDB doubles the TaskManager's CPU per
    event and holds a lower sustained rate; it suits a stack left mostly idle (a third of the heap's CPU
    at rest, 2 GiB less memory; docs/benchmarks.md, section 14)."""

    startup_timeout_s: Annotated[float, Field(gt=0)] = 180.0

    # The supervisor (`rta up` starts it; stack/supervisor.py): restarts any process of the stack that dies.
    restart_backoff_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    """Wait before restarting a process that crashed; doubles per consecutive fast failure."""
    restart_backoff_max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """The longest wait between restarts of a process that keeps crashing."""
    restart_min_uptime_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    """A process that dies sooner than this after its start counts as a fast failure."""
    restart_max_fast_failures: Annotated[int, Field(ge=1, le=100)] = 5
    """Consecutive fast failures after which the supervisor gives up on a process (`rta up` tries again)."""

    # The Flink pipeline (see docs/pipeline.md for what each one trades off).
    flink_parallelism: Annotated[int, Field(ge=1, le=64)] = 1
    checkpoint_interval_s: Annotated[int, Field(ge=1, le=600)] = 5
    """Exactly-once sinks commit on checkpoints: results become visible at most this much later."""
    watermark_delay_s: Annotated[int, Field(ge=0, le=3600)] = 5
    """Bounded out-of-orderness: how far behind the newest event time an event may be and still be on time."""
    idle_timeout_s: Annotated[int, Field(ge=1, le=3600)] = 5
    """A partition quiet for this long stops holding the watermark back."""
    max_lateness_s: Annotated[int, Field(ge=60, le=7 * 86400)] = 3600
    """Events older than their Kafka record timestamp by more than this are dead-lettered."""
    max_future_s: Annotated[int, Field(ge=0, le=86400)] = 300
    """Events newer than their Kafka record timestamp by more than this are dead-lettered (bad clocks)."""
    dedup_ttl_s: Annotated[int, Field(ge=10, le=7 * 86400)] = 600
    """A second copy of an event_id within this long (processing time) is dropped."""
    metrics_ttl_s: Annotated[int, Field(ge=120, le=30 * 86400)] = 7200
    """How long a minute's aggregate state is kept; must exceed max_lateness_s."""
    session_ttl_s: Annotated[int, Field(ge=60, le=30 * 86400)] = 3600
    """A session idle this long is forgotten: a later event starts a new summary."""
    kafka_transaction_timeout_s: Annotated[int, Field(ge=60, le=900)] = 600
    """Below the broker's transaction.max.timeout.ms (900 s)."""
    naive_timestamp_zone: str = "UTC"
    """The IANA zone in which an ISO-8601 event_timestamp without offset is read (core/wire.py)."""
    business_time_zone: str = "UTC"
    """The IANA zone whose calendar days the running day totals restart on (core/business_day.py). The
    job keys its rows by that day: changing it takes a rebuild (`rta provision --fresh`)."""

    @field_validator("naive_timestamp_zone", "business_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _state_outlives_lateness(self) -> Settings:
        if self.metrics_ttl_s <= self.max_lateness_s:
            raise ValueError(
                "metrics_ttl_s must exceed max_lateness_s: a late event must find its minute's state"
            )
        return self

    def port(self, base: int) -> int:
        shifted = base + self.port_offset
        if shifted > 65535:
            raise ValueError(f"port {base} + RTA_PORT_OFFSET {self.port_offset} exceeds 65535")
        return shifted

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host or self.host}:{self.port(self.kafka_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flink_rest_url(self) -> str:
        return f"http://{self.flink_host or self.host}:{self.port(self.flink_rest_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pinot_controller_url(self) -> str:
        return f"http://{self.pinot_controller_host or self.host}:{self.port(self.pinot_controller_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pinot_broker_url(self) -> str:
        return f"http://{self.pinot_broker_host or self.host}:{self.port(self.pinot_broker_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port(self.api_port)}"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def zookeeper_address(self) -> str:
        return f"{self.host}:{self.port(self.zookeeper_port)}"


@cache
def get_settings() -> Settings:
    return Settings()
