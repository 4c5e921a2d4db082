"""The copy of a rebuild's carried rows (`rta backfill --from T1`, flink_jobs/since.py): a bounded batch job.

For each dataset it reads the served generation's output topic from its beginning to `ends` (the
offsets after the served job's last committed records when it was stopped at the cut, read_committed)
and writes into the new generation's topic the rows the rebuild does not own:
- an upserted dataset: per key, the version Pinot serves (the largest comparison column; among equal
  ones the last written, as Pinot keeps the later of equal values), when its newest time is before T1;
- an appended dataset: every row whose newest time is before T1.
Rows older than their Pinot table's retention are left out: Pinot would not serve them.
"""

from __future__ import annotations

import re

from core.datasets import Dataset, Mode
from core.settings import Settings
from flink_jobs.codegen import sink_ddl
from flink_jobs.pipeline import sink_options
from flink_jobs.runner import with_clause
from flink_jobs.since import owned


def source_ddl(dataset: Dataset, topic: str, ends: dict[int, int], settings: Settings) -> str:
    """The served rows of `dataset` as plain Kafka records up to `ends`, with each record's offset."""
    name = dataset.name
    ddl = sink_ddl(dataset).replace(f"CREATE TABLE {name} (", f"CREATE TABLE carried_{name} (")
    ddl = re.sub(r",\n  PRIMARY KEY \([^)]*\) NOT ENFORCED", "", ddl)  # a plain Kafka source takes none
    ddl = ddl.rstrip().removesuffix(")") + ",\n  `rta_offset` BIGINT METADATA FROM 'offset' VIRTUAL\n)\n"
    stops = ";".join(f"partition:{p},offset:{o}" for p, o in sorted(ends.items()))
    options = {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        "properties.isolation.level": "read_committed",
        "scan.startup.mode": "earliest-offset",
        "scan.bounded.mode": "specific-offsets",
        "scan.bounded.specific-offsets": stops,
        "format": "json",
        "json.ignore-parse-errors": "true",  # the null value of a deletion, which the pipeline never writes
    }
    return ddl + with_clause(options)


def target_ddl(dataset: Dataset, topic: str, job_name: str, settings: Settings) -> str:
    """The new generation's topic of `dataset`, written at least once: a batch job's exactly-once sink
    is one Kafka transaction for the whole copy (which the broker aborts after its timeout), and the
    copy never restarts (a failure fails the rebuild, whose topics are removed), so nothing is written
    twice."""
    name = dataset.name
    ddl = sink_ddl(dataset).replace(f"CREATE TABLE {name} (", f"CREATE TABLE carry_{name} (")
    options = sink_options(settings, dataset, topic, job_name)
    options = {
        k: v for k, v in options.items() if not k.startswith(("sink.transactional", "properties.transaction"))
    }
    return ddl + with_clause({**options, "sink.delivery-guarantee": "at-least-once"})


def copy_insert(dataset: Dataset, t1_ms: int, zone: str, oldest_ms: int) -> str:
    """INSERT of the carried rows of `dataset`: not owned from `t1_ms` on, time column at or after
    `oldest_ms` (its table's retention)."""
    columns = ", ".join(f"`{c.name}`" for c in dataset.columns)
    keep = f"NOT ({owned(dataset, t1_ms, zone)}) AND `{dataset.time_column}` >= {oldest_ms}"
    if dataset.mode is Mode.APPEND:
        return f"INSERT INTO carry_{dataset.name}\nSELECT {columns} FROM carried_{dataset.name}\nWHERE {keep}"
    key = ", ".join(f"`{k}`" for k in dataset.primary_key)
    return (
        f"INSERT INTO carry_{dataset.name}\nSELECT {columns} FROM (\n"
        f"  SELECT *, ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY `{dataset.version_column}` DESC,"
        " rta_offset DESC) AS rta_rank\n"
        f"  FROM carried_{dataset.name}\n)\nWHERE rta_rank = 1 AND {keep}"
    )
