"""A rebuild from a time on (`rta backfill --from T1`): which rows the new job writes, which it carries over.

Every dataset row covers event times up to a newest one (core.datasets.Newest: a window's end, a
session's last event, a visit's end, a business day, an event's own time), and that time only grows as
the row is rewritten. A rebuild from T1 splits the rows by it:

- **owned** (newest time at or after T1): the new job computes them. It reads the whole raw topic, so
  its state holds every event they cover, also the ones before T1 (a session or a visit that began
  earlier, the start of T1's business day, a sliding window's first minutes);
- **carried** (newest time before T1): copied unchanged from the served generation's output topics by
  the same job (a bounded source per dataset, read once from its beginning, `read_committed`), each
  into a sink of its own on the new generation's topic.

A carried row can no longer change once T1 is at least `RTA_MAX_LATENESS_S` in the past and the served
job has processed the raw topic up to the rebuild's start: a later event for a time before T1 would be
more than that behind its record timestamp, so a dead letter (docs/pipeline.md, "The rules, as served").
stack/backfill.py checks both. The filter on the owned rows is monotone per key, since a row's newest
time only grows: once a key passes it, every later version does. A carried key that the new job also
writes (a session idle since before T1 that gets one more event) ends with the new job's row, whose
version (its events) is at least the carried one's (Pinot's upsert keeps the larger).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.business_day import business_day
from core.datasets import DATASETS, Covers, Dataset, Mode
from flink_jobs.codegen import sink_ddl, sql_string


@dataclass(frozen=True)
class Since:
    """Rebuild the rows whose newest time is at or after `t1_ms` (epoch ms), carry the others from
    `carried` (dataset name -> the served generation's output topic)."""

    t1_ms: int
    carried: tuple[tuple[str, str], ...]

    def topic(self, dataset: Dataset) -> str:
        return dict(self.carried)[dataset.name]


def owned(dataset: Dataset, t1_ms: int, zone: str) -> str:
    """SQL over a row of `dataset`: true when its newest covered time is at or after `t1_ms`."""
    newest = dataset.newest_time
    column = f"`{newest.column}`"
    if newest.covers is Covers.BEFORE:
        return f"{column} > {t1_ms}"
    if newest.covers is Covers.BUSINESS_DAY:  # ISO dates compare as text; T1's day ends after T1
        return f"{column} >= {sql_string(business_day(t1_ms, zone))}"
    return f"{column} >= {t1_ms}"


_INSERT = re.compile(r"\A\s*(?:--[^\n]*\n\s*)*INSERT\s+INTO\s+`?(\w+)`?\s+(.*)\Z", re.IGNORECASE | re.DOTALL)


def owned_insert(insert: str, dataset: Dataset, t1_ms: int, zone: str) -> str:
    """The dataset's INSERT, keeping only the rows it owns from `t1_ms` on.

    Raises ValueError for a statement that is not `INSERT INTO <the dataset> <query>`."""
    match = _INSERT.match(insert)
    if match is None or match.group(1) != dataset.name:
        raise ValueError(f"not the INSERT of {dataset.name}: {insert[:80]!r}")
    return (
        f"INSERT INTO {dataset.name}\nSELECT * FROM (\n{match.group(2).rstrip()}\n)"
        f"\nWHERE {owned(dataset, t1_ms, zone)}"
    )


def carried_source_ddl(dataset: Dataset) -> str:
    """CREATE TABLE reading the served generation's rows of `dataset` as plain records (the WITH clause
    is the caller's). An upsert topic's record values hold every column, key included; its deletions
    (null values, which the pipeline never writes) are skipped."""
    name = dataset.name
    ddl = sink_ddl(dataset).replace(f"CREATE TABLE {name} (", f"CREATE TABLE carried_{name} (")
    if dataset.mode is Mode.UPSERT:  # a plain Kafka source takes no primary key
        ddl = re.sub(r",\n  PRIMARY KEY \([^)]*\) NOT ENFORCED", "", ddl)
    return ddl


def carried_sink_ddl(dataset: Dataset) -> str:
    """CREATE TABLE for the carried rows' own sink on the new topic: a second sink table, so that its
    Kafka transactions have ids of their own (the caller's WITH clause says which)."""
    return sink_ddl(dataset).replace(f"CREATE TABLE {dataset.name} (", f"CREATE TABLE carry_{dataset.name} (")


def carried_insert(dataset: Dataset, t1_ms: int, zone: str) -> str:
    """INSERT copying the served generation's rows that the rebuild does not own."""
    columns = ", ".join(f"`{c.name}`" for c in dataset.columns)
    return (
        f"INSERT INTO carry_{dataset.name}\nSELECT {columns} FROM carried_{dataset.name}"
        f"\nWHERE NOT ({owned(dataset, t1_ms, zone)})"
    )


def datasets_by_insert(inserts: tuple[str, ...]) -> dict[str, Dataset]:
    """INSERT file name -> its dataset (flink_jobs.pipeline.INSERTS is in the registry's order)."""
    return dict(zip(inserts, DATASETS, strict=True))
