"""The e-commerce pipeline job: raw events -> dead letters, accepted events and the three metrics.

SQL lives in `flink_jobs/sql/` (one statement per file; `generated/` is written from core/). This module
only decides where the job reads and writes and fills in the `$placeholders` from settings, so tests
can run the same SQL against fresh topics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from core import datasets, topics
from core.datasets import Dataset, Mode
from core.settings import Settings
from flink_jobs.runner import kafka_source_options, submit, with_clause

SQL_DIR = Path(__file__).parent / "sql"
JOB_NAME = "ecommerce-pipeline"

FUNCTIONS = ("function_json_fields", "function_json_epoch_millis", "function_distinct_count")
VIEWS = (
    "generated/view_parsed_events",
    "generated/view_valid_events",
    "view_flagged_events",
    "generated/view_accepted_events",
    "view_minute_events",
)
INSERTS = (
    "insert_dead_letters",
    "generated/insert_events",
    "insert_active_users",
    "insert_product_metrics",
    "insert_session_metrics",
)
# TIMESTAMP_LTZ -> epoch millis; Flink SQL has no direct function (the session time zone is UTC).
_EPOCH_MILLIS = "(UNIX_TIMESTAMP(CAST({col} AS STRING)) * 1000 + EXTRACT(MILLISECOND FROM {col}))"


@dataclass(frozen=True)
class Topics:
    """Where the job reads and writes; tests pass fresh names."""

    raw_events: str = topics.EVENTS
    dead_letters: str = topics.DEAD_LETTER
    events: str = topics.ACCEPTED_EVENTS
    active_users: str = topics.ACTIVE_USERS
    product_metrics: str = topics.PRODUCT_METRICS
    session_metrics: str = topics.SESSION_METRICS

    def for_dataset(self, dataset: Dataset) -> str:
        return str(getattr(self, dataset.name))


def interval(seconds: int) -> str:
    """A Flink SQL DAY TO SECOND interval literal (plain 'N' SECOND literals stop at 2 digits)."""
    t = timedelta(seconds=seconds)
    hours, rest = divmod(t.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"INTERVAL '{t.days} {hours:02d}:{minutes:02d}:{secs:02d}' DAY TO SECOND"


def placeholders(settings: Settings) -> dict[str, str]:
    return {
        "watermark_delay": interval(settings.watermark_delay_s),
        "max_lateness": interval(settings.max_lateness_s),
        "max_future": interval(settings.max_future_s),
        "metrics_ttl": f"{settings.metrics_ttl_s}s",
        "session_ttl": f"{settings.session_ttl_s}s",
        "source_time_millis": _EPOCH_MILLIS.format(col="source_time"),
        "window_start_millis": _EPOCH_MILLIS.format(col="window_start"),
    }


_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")  # ${name}: a bare `$` is common in SQL (JSON paths, regexes)


def read_sql(name: str, values: dict[str, str]) -> str:
    text = (SQL_DIR / f"{name}.sql").read_text()

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"{name}.sql: no value for placeholder {match.group(0)}")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, text)


def sink_options(settings: Settings, dataset: Dataset, topic: str, job_name: str) -> dict[str, str]:
    common = {
        "topic": topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        "key.format": "json",
        "value.format": "json",
        "sink.delivery-guarantee": "exactly-once",
        # Unique per job and sink: a restarted job aborts its own lingering transactions by this prefix.
        "sink.transactional-id-prefix": f"{job_name}.{dataset.name}",
        "properties.transaction.timeout.ms": str(settings.kafka_transaction_timeout_s * 1000),
    }
    if dataset.mode is Mode.UPSERT:
        # Keep only the newest row per key for up to a second: fewer, not different, updates.
        return {
            "connector": "upsert-kafka",
            "sink.buffer-flush.max-rows": "2000",
            "sink.buffer-flush.interval": "1s",
            **common,
        }
    return {"connector": "kafka", "key.fields": ";".join(dataset.key_columns), **common}


def job_config(settings: Settings) -> dict[str, str]:
    return {
        "parallelism.default": str(settings.flink_parallelism),
        "execution.checkpointing.interval": f"{settings.checkpoint_interval_s}s",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "table.local-time-zone": "UTC",
        # Plan the views shared by several INSERTs once (one parse, one deduplication), not per sink.
        "table.optimizer.reuse-optimize-block-with-digest-enabled": "true",
        "table.exec.state.ttl": f"{settings.dedup_ttl_s}s",
        "table.exec.source.idle-timeout": f"{settings.idle_timeout_s}s",
        # Mini-batch would turn the keep-first deduplication into an updating Rank (Flink 2.2 planner),
        # which the append sinks cannot take; upsert sinks compact updates by key instead.
        "table.exec.mini-batch.enabled": "false",
        "table.optimizer.distinct-agg.split.enabled": "false",
        # Chained operators hand rows over without a defensive copy (SQL operators do not keep input
        # rows): +6% in bench.flink_stage (docs/benchmarks.md).
        "pipeline.object-reuse": "true",
    }


@dataclass(frozen=True)
class Variant:
    """How a run differs from the product's job (benchmarks and tests): a bounded source that stops
    at the topic's current end, sinks that discard rows, or only some of the INSERTs."""

    bounded: bool = False
    blackhole_sinks: bool = False
    inserts: tuple[str, ...] = INSERTS


def statements(
    settings: Settings, where: Topics, job_name: str, group_id: str, variant: Variant = Variant()
) -> tuple[list[str], list[str]]:
    values = placeholders(settings)
    bounded = {"scan.bounded.mode": "latest-offset"} if variant.bounded else {}
    source = read_sql("source_raw_events", values) + with_clause(
        kafka_source_options(settings, where.raw_events, group_id, format="raw", **bounded)
    )
    sinks = [
        read_sql(f"generated/sink_{d.name}", values)
        + with_clause(
            {"connector": "blackhole"}
            if variant.blackhole_sinks
            else sink_options(settings, d, where.for_dataset(d), job_name)
        )
        for d in datasets.DATASETS
    ]
    views = [read_sql(v, values) for v in VIEWS]
    unknown = set(variant.inserts) - set(INSERTS)
    if unknown:
        raise ValueError(f"unknown INSERTs {sorted(unknown)}; choose from {INSERTS}")
    inserts = [read_sql(i, values) for i in INSERTS if i in variant.inserts]
    functions = [read_sql(f, values) for f in FUNCTIONS]
    return [*functions, source, *sinks, *views], inserts


def submit_pipeline(
    settings: Settings,
    where: Topics | None = None,
    job_name: str = JOB_NAME,
    group_id: str | None = None,
    extra_config: Mapping[str, str] | None = None,
    variant: Variant = Variant(),
) -> str:
    """Submit the pipeline as one statement set (one Flink job, one source read); returns the job id.

    `extra_config` adds job options, e.g. `execution.state-recovery.path` to resume from a checkpoint.
    """
    where = where or Topics()
    ddl, inserts = statements(settings, where, job_name, group_id or job_name, variant)
    return submit(settings, job_name, ddl, inserts, config={**job_config(settings), **(extra_config or {})})
