"""Every dataset the pipeline writes, declared once: the registry the rest is generated from.

A dataset names its topic, columns (from a model in core/metrics.py), keys, time column, whether Pinot
upserts or appends it, and its Pinot table's design (purpose, retention, indexes). From these,
`rta generate` writes the Flink sink DDL (flink_jobs/sql/generated/) and `pinot/<name>/schema.json` +
`table.json`; `rta provision` creates one topic and one Pinot table per dataset; the job and the
tests iterate over `DATASETS`. docs/adding-a-metric.md walks through adding one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from core import topics
from core.columns import Column, model_columns, union_columns
from core.events import EVENT_MODELS
from core.metrics import (
    Acceptance,
    ActiveUsersMinute,
    ActiveUsersSliding,
    DeadLetter,
    EnrichedProductEvent,
    MetricRow,
    ProductMinute,
    ReferrerWindow,
    SessionSummary,
    UserDay,
    Visit,
)

JOB_NAME: Final = "ecommerce-pipeline"
"""The Flink job that writes every dataset below: its name on the Flink dashboard, its consumer group on
the raw topic and its job record (`rta provision`)."""


class Mode(StrEnum):
    APPEND = "append"
    """Rows the exactly-once pipeline writes once per run; Pinot appends (why not dedup: docs/pipeline.md)."""
    UPSERT = "upsert"
    """A key's row is rewritten as it changes; the largest `version_column` wins (Pinot upsert)."""


class Covers(StrEnum):
    """How a row's `newest` column tells the newest event time the row covers."""

    AT = "at"
    """The column is that time (epoch ms)."""
    BEFORE = "before"
    """The column is an exclusive end (epoch ms): the row covers times before it."""
    BUSINESS_DAY = "business_day"
    """The column is a business day (ISO date, `business_time_zone`): the row covers times in that day."""


@dataclass(frozen=True)
class Newest:
    """Where a row's newest covered time is: it only grows as the row is rewritten. A rebuild from a time
    T1 (`rta backfill --from`) recomputes the rows whose newest time is at or after T1 and keeps the
    others, which no event can change any more (docs/pipeline.md, "Rebuilds")."""

    column: str
    covers: Covers = Covers.AT


@dataclass(frozen=True)
class Dataset:
    name: str
    """The Flink sink table and the Pinot table."""
    topic: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    key_columns: tuple[str, ...]
    """The Kafka message key: the primary key, or a coarser column that still sends a key to one partition."""
    time_column: str
    mode: Mode
    description: str
    """One line: the Pinot table's `purpose` (shown in the controller UI)."""
    retention_days: int = 30
    """Pinot drops segments whose newest time value is older than this."""
    inverted_index: tuple[str, ...] = ()
    """Columns the API filters or groups on; the time column always gets a range index."""
    version_column: str | None = None
    newest: Newest | None = None
    """The newest event time a row covers (default: the time column's value)."""

    @property
    def newest_time(self) -> Newest:
        return self.newest or Newest(self.time_column)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        wanted = {*self.primary_key, *self.key_columns, self.time_column, *self.inverted_index}
        wanted.add(self.newest_time.column)
        if self.version_column:
            wanted.add(self.version_column)
        if missing := wanted - names:
            raise ValueError(f"dataset {self.name}: unknown columns {sorted(missing)}")
        if (self.mode is Mode.UPSERT) != (self.version_column is not None):
            raise ValueError(f"dataset {self.name}: upsert datasets (only) need a version column")


def metric_dataset(
    name: str,
    topic: str,
    model: type[MetricRow],
    time_column: str,
    mode: Mode,
    *,
    inverted_index: tuple[str, ...] = (),
    retention_days: int = 30,
    version_column: str = "events",
    newest: Newest | None = None,
) -> Dataset:
    """A dataset with a model's columns, keyed by its primary key; upserted rows carry a count that only
    grows (`version_column`) as their version. The description is the model's docstring's first line."""
    return Dataset(
        name=name,
        topic=topic,
        columns=tuple(model_columns(model)),
        primary_key=model.primary_key,
        key_columns=model.primary_key,
        time_column=time_column,
        mode=mode,
        description=(model.__doc__ or name).strip().splitlines()[0],
        retention_days=retention_days,
        inverted_index=inverted_index,
        version_column=version_column if mode is Mode.UPSERT else None,
        newest=newest,
    )


WINDOW_END = Newest("window_end", Covers.BEFORE)
"""A window's row covers the times before its end."""

EVENTS = Dataset(
    name="events",
    topic=topics.ACCEPTED_EVENTS,
    columns=(*union_columns(EVENT_MODELS, "event_type"), *model_columns(Acceptance)),
    primary_key=("event_id",),
    key_columns=("session_id",),  # an event_id always belongs to one session, so one partition
    time_column="event_timestamp",
    mode=Mode.APPEND,
    description="Every accepted event (valid, first copy of its event_id), with is_late and "
    "ingest_time: live, open-window and ad-hoc queries.",
    retention_days=7,
    inverted_index=(
        *("event_type", "device_type", "os", "browser", "location"),
        *("product_category", "product_id", "session_id", "user_id"),
    ),
)
DEAD_LETTERS = metric_dataset(
    "dead_letters",
    topics.DEAD_LETTER,
    DeadLetter,
    "source_timestamp",
    Mode.APPEND,
    inverted_index=("reason",),
)
ACTIVE_USERS = metric_dataset(
    "active_users", topics.ACTIVE_USERS, ActiveUsersMinute, "window_start", Mode.UPSERT, newest=WINDOW_END
)
PRODUCT_METRICS = metric_dataset(
    "product_metrics",
    topics.PRODUCT_METRICS,
    ProductMinute,
    "window_start",
    Mode.UPSERT,
    inverted_index=("product_id", "product_category"),
    newest=WINDOW_END,
)
SESSION_METRICS = metric_dataset(
    "session_metrics",
    topics.SESSION_METRICS,
    SessionSummary,
    "last_event_time",
    Mode.UPSERT,
    inverted_index=("user_id", "device_type", "os", "browser", "location"),
)
ACTIVE_USERS_SLIDING = metric_dataset(
    "active_users_sliding",
    topics.ACTIVE_USERS_SLIDING,
    ActiveUsersSliding,
    "window_start",
    Mode.UPSERT,
    newest=WINDOW_END,
)
REFERRER_TRAFFIC = metric_dataset(
    "referrer_traffic",
    topics.REFERRER_TRAFFIC,
    ReferrerWindow,
    "window_start",
    Mode.UPSERT,
    inverted_index=("referrer_host",),
    version_column="page_views",
    newest=WINDOW_END,
)

USER_DAYS = metric_dataset(
    "user_days",
    topics.USER_DAYS,
    UserDay,
    "first_seen",
    Mode.UPSERT,
    inverted_index=("business_day",),
    newest=Newest("business_day", Covers.BUSINESS_DAY),
)

VISITS = metric_dataset(
    "visits",
    topics.VISITS,
    Visit,
    "visit_start",
    Mode.UPSERT,
    inverted_index=("user_id",),
    version_column="version",
    newest=Newest("visit_end"),
)

ENRICHED_PRODUCT_EVENTS = Dataset(
    name="enriched_product_events",
    topic=topics.ENRICHED_PRODUCT_EVENTS,
    columns=tuple(model_columns(EnrichedProductEvent)),
    primary_key=("event_id",),
    key_columns=("session_id",),  # as the events: one session, one partition
    time_column="event_timestamp",
    mode=Mode.APPEND,
    description=(EnrichedProductEvent.__doc__ or "").strip().splitlines()[0],
    retention_days=7,
    inverted_index=("event_type", "brand", "customer_state", "customer_country"),
)

DATASETS: tuple[Dataset, ...] = (
    *(DEAD_LETTERS, EVENTS, ACTIVE_USERS, PRODUCT_METRICS, SESSION_METRICS),
    *(ACTIVE_USERS_SLIDING, REFERRER_TRAFFIC, USER_DAYS, VISITS, ENRICHED_PRODUCT_EVENTS),
)
"""The registry, in the job's order of INSERTs (flink_jobs/pipeline.py). A new dataset changes the job
graph, and Flink cannot resume the new graph from the old one's checkpoint: docs/adding-a-metric.md."""
