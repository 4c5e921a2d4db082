"""The e-commerce pipeline job: raw events -> dead letters, accepted events and the three metrics.

SQL lives in `flink_jobs/sql/` (one statement per file; `generated/` is written from core/). This module
only decides where the job reads and writes and fills in the `$placeholders` from settings, so tests
can run the same SQL against fresh topics.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from core import datasets, referrers, topics
from core.datasets import DATASETS, JOB_NAME, Dataset, Mode
from core.dimensions import UNKNOWN
from core.generations import Generation
from core.metrics import Visit
from core.settings import Settings
from flink_jobs import since as rebuild
from flink_jobs.codegen import sql_string
from flink_jobs.runner import java_zone_problem, kafka_source_options, submit, with_clause
from flink_jobs.since import Since

SQL_DIR = Path(__file__).parent / "sql"

FUNCTIONS = (
    "function_epoch_millis",
    "function_event_time_millis",
    "function_parse_event",
    "function_distinct_count",
    "function_business_day",
    "function_visits",
)
REBUILD_FUNCTIONS = ("function_visits_flagged",)
"""Registered only in a rebuild's job (flink_jobs/since.py), so the product's plan stays as it is."""
VIEWS = (
    "generated/view_parsed_events",
    "generated/view_valid_events",
    "view_flagged_events",
    "generated/view_accepted_events",
    "view_minute_events",
    "view_sliding_events",
    "view_referred_page_views",
    "view_visit_events",
    "view_joined_product_events",
)


def _insert_file(dataset: Dataset) -> str:
    """The INSERT that fills a dataset: generated from core/ when it only copies columns
    (`sql/generated/insert_<name>.sql`), else `sql/insert_<name>.sql` (written by hand; until it exists,
    submitting the job fails naming it, and a unit test fails)."""
    generated = f"generated/insert_{dataset.name}"
    return generated if (SQL_DIR / f"{generated}.sql").is_file() else f"insert_{dataset.name}"


INSERTS = tuple(_insert_file(d) for d in datasets.DATASETS)

PLAN_VERSION = 2
"""How the runner turns the SQL into a job graph, for the checkpoints a job can resume from. 1: views
as SQL text, each INSERT with its own deduplication (jobs before 2026-11-30); 2: views as Table API
views, shared by every INSERT (flink_jobs/runner.py, run_ddl). A checkpoint only fits the graph of
its version, so a job resumes with the version it started with (stack/recovery.py, JobSpec)."""
"""One INSERT per dataset, in the registry's order (one statement set, one job)."""
# TIMESTAMP_LTZ -> epoch millis; Flink SQL has no direct function (the session time zone is UTC).
_EPOCH_MILLIS = "(UNIX_TIMESTAMP(CAST({col} AS STRING)) * 1000 + EXTRACT(MILLISECOND FROM {col}))"


@dataclass(frozen=True)
class Topics:
    """Where the job reads (the raw events, the dimensions) and writes (a topic per dataset); tests
    pass fresh names."""

    raw_events: str = topics.EVENTS
    dead_letters: str = topics.DEAD_LETTER
    events: str = topics.ACCEPTED_EVENTS
    active_users: str = topics.ACTIVE_USERS
    product_metrics: str = topics.PRODUCT_METRICS
    session_metrics: str = topics.SESSION_METRICS
    active_users_sliding: str = topics.ACTIVE_USERS_SLIDING
    referrer_traffic: str = topics.REFERRER_TRAFFIC
    user_days: str = topics.USER_DAYS
    visits: str = topics.VISITS
    enriched_product_events: str = topics.ENRICHED_PRODUCT_EVENTS
    dim_products: str = topics.DIM_PRODUCTS
    dim_customers: str = topics.DIM_CUSTOMERS

    def for_dataset(self, dataset: Dataset) -> str:
        return str(getattr(self, dataset.name))

    @classmethod
    def for_generation(cls, generation: Generation) -> Topics:
        """The product's topics with a generation's outputs (core/generations.py); inputs are shared."""
        return cls(**{d.name: generation.topic(d.topic) for d in DATASETS})


def interval(seconds: int) -> str:
    """A Flink SQL DAY TO SECOND interval literal (plain 'N' SECOND literals stop at 2 digits)."""
    t = timedelta(seconds=seconds)
    hours, rest = divmod(t.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"INTERVAL '{t.days} {hours:02d}:{minutes:02d}:{secs:02d}' DAY TO SECOND"


@dataclass(frozen=True)
class Quarantined:
    """A raw record an operator set aside because it made the job fail (`rta skip`)."""

    partition: int
    offset: int
    reason: str


def quarantine_literal(records: Iterable[Quarantined]) -> str:
    """The PARSE_EVENT argument listing quarantined records: a SQL string literal holding a JSON array."""
    entries = [{"partition": r.partition, "offset": r.offset, "reason": r.reason} for r in records]
    return sql_string(json.dumps(entries, ensure_ascii=True, separators=(",", ":")) if entries else "")


def placeholders(
    settings: Settings,
    quarantine: Iterable[Quarantined] = (),
    state_backend: str | None = None,
    since: Since | None = None,
) -> dict[str, str]:
    """The `${name}` values of the SQL files for a job on `state_backend` (default: the settings'), a
    rebuild's job when `since` (flink_jobs/since.py)."""
    backend = state_backend or settings.flink_state_backend
    contract_arguments = ", ".join(
        [
            sql_string(settings.naive_timestamp_zone),
            f"CAST({settings.max_lateness_s * 1000} AS BIGINT)",
            f"CAST({settings.max_future_s * 1000} AS BIGINT)",
        ]
    )
    return {
        "watermark_delay": interval(settings.watermark_delay_s),
        "metrics_ttl": f"{settings.metrics_ttl_s}s",
        "session_ttl": f"{settings.session_ttl_s}s",
        "contract_arguments": contract_arguments,
        "distinct_count_class": "rta.udf.DistinctCountView"
        if backend == "rocksdb"
        else "rta.udf.DistinctCount",
        "quarantine": quarantine_literal(quarantine),
        "window_start_millis": _EPOCH_MILLIS.format(col="window_start"),
        "referrer_host": referrer_host_sql("referrer_url"),
        "unknown": UNKNOWN,
        "business_time_zone": sql_string(settings.business_time_zone),
        # a key's state must outlive its day: counted from its first update, the day's last event can
        # arrive max_future before the day starts and max_lateness after it ends
        "business_day_ttl": f"{86_400 + settings.max_lateness_s + settings.max_future_s}s",
        "visit_gap_ms": str(int(Visit.gap.total_seconds() * 1000)),
        # live, no accepted event is older than this behind the watermark (docs/pipeline.md: visits)
        "visit_horizon_ms": str(
            (settings.max_lateness_s + settings.max_future_s) * 1000 + int(Visit.gap.total_seconds() * 1000)
        ),
        **rebuild.placeholders(since),
    }


def referrer_host_sql(column: str) -> str:
    """core.referrers.referrer_host as a Flink SQL expression over `column` (a STRING)."""
    host = f"REGEXP_EXTRACT({column}, {sql_string(referrers.HOST_PATTERN)}, 1)"
    return (
        f"CASE WHEN {column} IS NULL OR {column} = '' THEN {sql_string(referrers.DIRECT)}"
        f" ELSE COALESCE(NULLIF({host}, ''), {sql_string(referrers.INTERNAL)}) END"
    )


_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")  # ${name}: a bare `$` is common in SQL (JSON paths, regexes)


def read_sql(name: str, values: dict[str, str]) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"flink_jobs/sql/{name}.sql is missing (docs/adding-a-metric.md)")
    text = path.read_text()

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"{name}.sql: no value for placeholder {match.group(0)}")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, text)


def dimension_source_options(settings: Settings, topic: str, **extra: str) -> dict[str, str]:
    """A compacted dimension topic read whole, as a versioned table (upsert-kafka reads from the start)."""
    return {
        "connector": "upsert-kafka",
        "topic": topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        "key.format": "json",
        "key.json.ignore-parse-errors": "true",
        "value.format": "json",
        "value.json.ignore-parse-errors": "true",
        **extra,
    }


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


def job_config(settings: Settings, state_backend: str | None = None) -> dict[str, str]:
    """The job's options; `state_backend` (default: the settings') is the one its checkpoints need."""
    backend = state_backend or settings.flink_state_backend
    return {
        "parallelism.default": str(settings.flink_parallelism),
        "state.backend.type": backend,
        # RocksDB: a checkpoint uploads only the files made since the previous one, so a job at rest
        # writes almost nothing; the heap backend always writes everything (docs/benchmarks.md).
        "execution.checkpointing.incremental": str(backend == "rocksdb").lower(),
        "execution.checkpointing.interval": f"{settings.checkpoint_interval_s}s",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "table.local-time-zone": "UTC",
        # Plan the parse, shared by several INSERTs, once (views made from SQL text; the Table API views
        # of flink_jobs/runner.py are shared without it).
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
    at the topic's current end, sinks that discard rows, only some of the INSERTs, or extra SQL
    statements after the product's (CREATE TABLE/VIEW run with the DDL, INSERTs join the statement set;
    see `split_extra`), e.g. a deliberately buggy statement in a test."""

    bounded: bool = False
    blackhole_sinks: bool = False
    inserts: tuple[str, ...] = INSERTS
    extra_statements: tuple[str, ...] = ()
    since: Since | None = None
    """A rebuild from a time on (flink_jobs/since.py): the owned rows computed, the others carried."""


_INSERT = re.compile(r"\s*INSERT\b", re.IGNORECASE)


def split_extra(extra: Iterable[str]) -> tuple[list[str], list[str]]:
    """Extra statements as (DDL, INSERTs): a statement is an INSERT when, after leading whitespace, it
    starts with INSERT (any case); everything else runs with the DDL. Order within each kind is kept."""
    ddl: list[str] = []
    inserts: list[str] = []
    for statement in extra:
        (inserts if _INSERT.match(statement) else ddl).append(statement)
    return ddl, inserts


def statements(
    settings: Settings,
    where: Topics,
    job_name: str,
    group_id: str,
    variant: Variant = Variant(),
    quarantine: Iterable[Quarantined] = (),
    state_backend: str | None = None,
) -> tuple[list[str], list[str]]:
    values = placeholders(settings, quarantine, state_backend, variant.since)
    bounded = {"scan.bounded.mode": "latest-offset"} if variant.bounded else {}
    source = read_sql("source_raw_events", values) + with_clause(
        kafka_source_options(settings, where.raw_events, group_id, format="raw", **bounded)
    )
    dimensions = [
        read_sql(f"source_{name}", values)
        + with_clause(dimension_source_options(settings, getattr(where, name), **bounded))
        for name in ("dim_products", "dim_customers")
    ]
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
    if variant.since is not None:
        t1, zone = variant.since.t1_ms, settings.business_time_zone
        by_insert = dict(zip(INSERTS, DATASETS, strict=True))
        chosen = [i for i in INSERTS if i in variant.inserts]
        inserts = [
            # appended datasets are rebuilt whole (flink_jobs/since.py)
            rebuild.rebuilt_insert(sql, by_insert[i], t1, zone) if by_insert[i].mode is Mode.UPSERT else sql
            for i, sql in zip(chosen, inserts, strict=True)
        ]
    functions = [read_sql(f, values) for f in (*FUNCTIONS, *(REBUILD_FUNCTIONS if variant.since else ()))]
    extra_ddl, extra_inserts = split_extra(variant.extra_statements)
    return [*functions, source, *dimensions, *sinks, *views, *extra_ddl], [*inserts, *extra_inserts]


def submit_pipeline(
    settings: Settings,
    where: Topics | None = None,
    job_name: str = JOB_NAME,
    group_id: str | None = None,
    extra_config: Mapping[str, str] | None = None,
    variant: Variant = Variant(),
    quarantine: Iterable[Quarantined] = (),
    state_backend: str | None = None,
    plan_version: int = PLAN_VERSION,
) -> str:
    """Submit the pipeline as one statement set (one Flink job, one source read); returns the job id.

    `extra_config` adds job options, e.g. `execution.state-recovery.path` to resume from a checkpoint;
    `quarantine` lists raw records to dead-letter unread (they made an earlier run fail);
    `state_backend` ("hashmap" or "rocksdb"; default the settings') must be the one the checkpoint
    resumed from was written with: Flink cannot restore one backend's checkpoint into the other;
    `plan_version` (PLAN_VERSION) likewise the graph it was written for.
    """
    where = where or Topics()
    ddl, inserts = statements(
        settings, where, job_name, group_id or job_name, variant, quarantine, state_backend
    )
    # else every naive timestamp would be dead-lettered as internal_error, or every event fail the job
    for name, zone in (
        ("RTA_NAIVE_TIMESTAMP_ZONE", settings.naive_timestamp_zone),
        ("RTA_BUSINESS_TIME_ZONE", settings.business_time_zone),
    ):
        problem = java_zone_problem(zone)
        if problem is not None:
            raise ValueError(
                f"{name}={zone!r} is unknown to the JDK the job runs on ({problem}); Python's tz "
                "database may be newer: pick a zone both know"
            )
    config = {**job_config(settings, state_backend), **(extra_config or {})}
    return submit(settings, job_name, ddl, inserts, config=config, shared_views=plan_version >= 2)
