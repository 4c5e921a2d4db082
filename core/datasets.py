"""Every dataset the pipeline writes: its topic, columns, keys and time column, declared once.

The Flink sink tables, the Kafka message keys and the Pinot tables (schema, primary key, upsert or
append) all come from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core import topics
from core.columns import Column, model_columns, union_columns
from core.events import EVENT_MODELS
from core.metrics import (
    Acceptance,
    ActiveUsersMinute,
    DeadLetter,
    MetricRow,
    ProductMinute,
    SessionSummary,
)


class Mode(StrEnum):
    APPEND = "append"
    """Rows the exactly-once pipeline writes once per run; Pinot appends (why not dedup: docs/pipeline.md)."""
    UPSERT = "upsert"
    """A key's row is rewritten as it changes; the largest `version_column` wins (Pinot upsert)."""


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
    version_column: str | None = None

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def __post_init__(self) -> None:
        names = {c.name for c in self.columns}
        wanted = {*self.primary_key, *self.key_columns, self.time_column}
        if self.version_column:
            wanted.add(self.version_column)
        if missing := wanted - names:
            raise ValueError(f"dataset {self.name}: unknown columns {sorted(missing)}")
        if (self.mode is Mode.UPSERT) != (self.version_column is not None):
            raise ValueError(f"dataset {self.name}: upsert datasets (only) need a version column")


def _metric(name: str, topic: str, model: type[MetricRow], time_column: str, mode: Mode) -> Dataset:
    return Dataset(
        name=name,
        topic=topic,
        columns=tuple(model_columns(model)),
        primary_key=model.primary_key,
        key_columns=model.primary_key,
        time_column=time_column,
        mode=mode,
        version_column="events" if mode is Mode.UPSERT else None,
    )


EVENTS = Dataset(
    name="events",
    topic=topics.ACCEPTED_EVENTS,
    columns=(*union_columns(EVENT_MODELS, "event_type"), *model_columns(Acceptance)),
    primary_key=("event_id",),
    key_columns=("session_id",),  # an event_id always belongs to one session, so one partition
    time_column="event_timestamp",
    mode=Mode.APPEND,
)
DEAD_LETTERS = _metric("dead_letters", topics.DEAD_LETTER, DeadLetter, "source_timestamp", Mode.APPEND)
ACTIVE_USERS = _metric("active_users", topics.ACTIVE_USERS, ActiveUsersMinute, "window_start", Mode.UPSERT)
PRODUCT_METRICS = _metric(
    "product_metrics", topics.PRODUCT_METRICS, ProductMinute, "window_start", Mode.UPSERT
)
SESSION_METRICS = _metric(
    "session_metrics", topics.SESSION_METRICS, SessionSummary, "last_event_time", Mode.UPSERT
)

DATASETS: tuple[Dataset, ...] = (EVENTS, DEAD_LETTERS, ACTIVE_USERS, PRODUCT_METRICS, SESSION_METRICS)
