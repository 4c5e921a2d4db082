"""A rebuild from a time on (`rta backfill --from T1`): which rows the new job writes, which it keeps.

Every dataset row covers event times up to a newest one (core.datasets.Newest: a window's end, a
session's last event, a visit's end, a business day, an event's own time), and that time only grows as
the row is rewritten.

- **Appended datasets** (events, enriched product events, dead letters) are rebuilt whole: their topics
  keep what the raw topic keeps (7 days), so there is nothing older to keep, and each of their rows
  comes from one raw record the new job reads anyway.
- **Upserted datasets**: the cut is the served job's committed raw offsets when the rebuild starts (no
  later than what its committed output rows cover). The command copies, per key, the version
  Pinot serves when its newest time is before T1 (stack/carry.py). The new job reads the whole
  raw topic (its state holds every event a row covers, also those before T1) and writes a row when
  the row is owned (newest time at or after T1) or when a raw record at or past the cut updated it,
  whatever that record's event time: history arriving with old record timestamps (`rta-load`, a
  generator catching up) is not in the copy, so the rebuilt row, computed from every event, replaces
  the copied one (Pinot's upsert keeps the larger version: for the same SQL the new job has counted
  every event the old one had). A cut earlier than the true one only rebuilds more rows.
  The flag travels as a hidden column, `rta_touched` (the `${touched_rows}` placeholders of the SQL
  and VISITS_FLAGGED, which keeps it per open visit), empty in the product's job: its plan and
  checkpoints stay as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.business_day import business_day
from core.datasets import Covers, Dataset
from flink_jobs.codegen import sql_string

TOUCHED = "rta_touched"


@dataclass(frozen=True)
class Since:
    """Rebuild the rows whose newest time is at or after `t1_ms` (epoch ms), and every row a raw record at
    or past `cut` (partition -> offset: the served job's committed offsets when it was stopped) updated."""

    t1_ms: int
    cut: tuple[tuple[int, int], ...]


def after_cut(cut: tuple[tuple[int, int], ...], partition: str, offset: str) -> str:
    """SQL: true for a raw record at or past the cut (a partition the cut does not know is new: past it)."""
    whens = " ".join(f"WHEN {p} THEN {offset} >= {o}" for p, o in sorted(cut))
    return f"(CASE {partition} {whens} ELSE TRUE END)" if cut else "TRUE"


def placeholders(since: Since | None) -> dict[str, str]:
    """The `${...}` values that carry the flag through the views and the INSERTs; empty without `since`."""
    if since is None:
        names = ("cut_flag", "after_cut", "touched_rows", "visits_touched")
        return {**dict.fromkeys(names, ""), "visits_function": "VISITS"}
    flag = after_cut(since.cut, "source_partition", "source_offset")
    return {
        "cut_flag": f", {flag} AS after_cut",
        "after_cut": ", after_cut",
        "touched_rows": f",\n  MAX(CASE WHEN after_cut THEN 1 ELSE 0 END) AS {TOUCHED}",
        "visits_touched": f", {TOUCHED}",
        "visits_function": "VISITS_FLAGGED",
    }


def owned(dataset: Dataset, t1_ms: int, zone: str) -> str:
    """SQL over a row of `dataset`: true when its newest covered time is at or after `t1_ms`."""
    newest = dataset.newest_time
    column = f"`{newest.column}`"
    if newest.covers is Covers.BEFORE:
        return f"{column} > {t1_ms}"
    if newest.covers is Covers.BUSINESS_DAY:  # ISO dates compare as text; T1's day ends after T1
        return f"{column} >= {sql_string(business_day(t1_ms, zone))}"
    return f"{column} >= {t1_ms}"


def owns(dataset: Dataset, row: dict[str, object], t1_ms: int, zone: str) -> bool:
    """`owned`, in Python, for a row as its topic holds it (JSON): the carried copy decides with it
    (stack/carry.py); tests/unit/flink_jobs/test_since.py checks the two agree."""
    newest = dataset.newest_time
    value = row[newest.column]
    if newest.covers is Covers.BUSINESS_DAY:
        return str(value) >= business_day(t1_ms, zone)
    millis = int(str(value))
    return millis > t1_ms if newest.covers is Covers.BEFORE else millis >= t1_ms


_INSERT = re.compile(r"\A\s*(?:--[^\n]*\n\s*)*INSERT\s+INTO\s+`?(\w+)`?\s+(.*)\Z", re.IGNORECASE | re.DOTALL)


def rebuilt_insert(insert: str, dataset: Dataset, t1_ms: int, zone: str) -> str:
    """The dataset's INSERT (rendered with `placeholders(since)`), keeping the rows the rebuild writes.

    Raises ValueError for a statement that is not `INSERT INTO <the dataset> <query>`, or whose query
    has no `rta_touched` column."""
    match = _INSERT.match(insert)
    if match is None or match.group(1) != dataset.name:
        raise ValueError(f"not the INSERT of {dataset.name}: {insert[:80]!r}")
    if TOUCHED not in match.group(2):
        raise ValueError(
            f"the INSERT of {dataset.name} has no {TOUCHED} column (a ${{touched_*}} placeholder)"
        )
    columns = ", ".join(f"`{c.name}`" for c in dataset.columns)
    return (
        f"INSERT INTO {dataset.name}\nSELECT {columns} FROM (\n{match.group(2).rstrip()}\n)"
        f"\nWHERE {owned(dataset, t1_ms, zone)} OR {TOUCHED} = 1"
    )
