"""A rebuild from a time on (flink_jobs/since.py): which rows the new job writes and which it carries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from core.business_day import business_day
from core.datasets import DATASETS, Covers, Dataset, Mode
from core.generations import Generation
from core.settings import Settings
from flink_jobs.pipeline import INSERTS, Topics, Variant, read_sql, statements
from flink_jobs.since import Since, after_cut, owned, owns, placeholders, rebuilt_insert

T1 = int(datetime(2026, 11, 30, 8, 0, tzinfo=UTC).timestamp() * 1000)
BY_NAME = {d.name: d for d in DATASETS}


def _row_owned(dataset: Dataset, value: object, t1: int = T1, zone: str = "UTC") -> bool:
    """The predicate `owned` renders, evaluated in Python on one value of the newest-time column."""
    predicate = owned(dataset, t1, zone)
    column, op, literal = re.fullmatch(r"`(\w+)` (>=|>) (.+)", predicate).groups()  # type: ignore[union-attr]
    assert column == dataset.newest_time.column
    bound: object = literal.strip("'") if literal.startswith("'") else int(literal)
    return value >= bound if op == ">=" else value > bound  # type: ignore[operator]


@pytest.mark.parametrize("name", ["events", "enriched_product_events", "session_metrics", "visits"])
def test_a_row_is_owned_when_its_newest_time_is_at_or_after_t1(name: str) -> None:
    d = BY_NAME[name]
    assert d.newest_time.covers is Covers.AT
    assert _row_owned(d, T1)
    assert _row_owned(d, T1 + 1)
    assert not _row_owned(d, T1 - 1)


@pytest.mark.parametrize(
    "name", ["active_users", "product_metrics", "active_users_sliding", "referrer_traffic"]
)
def test_a_window_is_owned_when_it_ends_after_t1(name: str) -> None:
    d = BY_NAME[name]
    assert d.newest_time.column == "window_end"
    assert _row_owned(d, T1 + 1)  # the window [T1 - 59 999, T1 + 1) holds T1
    assert not _row_owned(d, T1)  # the minute before T1: it ends where T1 begins


def test_a_user_day_is_owned_from_the_business_day_holding_t1() -> None:
    d = BY_NAME["user_days"]
    zone = "Pacific/Auckland"  # 21:00 on the 30th there: the day holding T1 began 21 hours before it
    day = business_day(T1, zone)
    assert day == "2026-11-30"
    assert _row_owned(d, day, zone=zone)
    assert _row_owned(d, "2026-12-01", zone=zone)
    assert not _row_owned(d, "2026-11-29", zone=zone)


def test_every_dataset_says_where_its_newest_time_is_and_it_is_a_column_of_its_rows() -> None:
    for d in DATASETS:
        assert d.newest_time.column in {c.name for c in d.columns}, d.name


def test_a_rebuild_keeps_a_row_it_owns_or_that_a_record_past_the_cut_updated() -> None:
    d = BY_NAME["visits"]
    since = Since(T1, ((0, 100), (1, 7)))
    values = {**placeholders(since), "visit_gap_ms": "1", "visit_horizon_ms": "2"}
    wrapped = rebuilt_insert(read_sql("insert_visits", values), d, T1, "UTC")
    assert wrapped.startswith(
        "INSERT INTO visits\nSELECT `user_id`, `visit_start`, `visit_end`, `events`, `page_views`, "
        "`superseded`, `version` FROM (\nSELECT user_id, visit_start"
    )
    assert "FROM VISITS_FLAGGED(" in wrapped
    assert wrapped.endswith(f"\n)\nWHERE `visit_end` >= {T1} OR rta_touched = 1")
    with pytest.raises(ValueError, match="not the INSERT of events"):
        rebuilt_insert(read_sql("insert_visits", values), BY_NAME["events"], T1, "UTC")
    plain = {**placeholders(None), "visit_gap_ms": "1", "visit_horizon_ms": "2"}
    with pytest.raises(ValueError, match="no rta_touched column"):
        rebuilt_insert(read_sql("insert_visits", plain), d, T1, "UTC")


def test_the_cut_is_per_partition_and_a_partition_it_does_not_know_is_past_it() -> None:
    assert (
        after_cut(((1, 7), (0, 100)), "p", "o")
        == "(CASE p WHEN 0 THEN o >= 100 WHEN 1 THEN o >= 7 ELSE TRUE END)"
    )
    assert after_cut((), "p", "o") == "TRUE"


def test_the_products_job_is_unchanged_and_a_rebuild_flags_every_upserted_insert() -> None:
    settings = Settings()
    job = Generation(1).job_name
    where = Topics.for_generation(Generation(1))
    ddl, inserts = statements(settings, where, job, job)
    assert not any("after_cut" in s or "rta_touched" in s or "VISITS_FLAGGED" in s for s in ddl + inserts)
    since = Since(T1, ((0, 5),))
    ddl, rebuilt = statements(settings, where, job, job, Variant(since=since))
    assert len(rebuilt) == len(inserts) == len(INSERTS) == len(DATASETS)
    for d, insert, plain in zip(DATASETS, rebuilt, inserts, strict=True):
        if d.mode is Mode.UPSERT:
            assert insert.startswith(f"INSERT INTO {d.name}\n")
            assert insert.endswith(f"{owned(d, T1, settings.business_time_zone)} OR rta_touched = 1")
        else:  # appended datasets are rebuilt whole
            assert insert == plain
    assert any("CREATE TEMPORARY SYSTEM FUNCTION VISITS_FLAGGED" in s for s in ddl)
    assert any(
        "(CASE source_partition WHEN 0 THEN source_offset >= 5 ELSE TRUE END) AS after_cut" in s for s in ddl
    )


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_the_copy_and_the_job_agree_on_which_rows_a_rebuild_owns(name: str) -> None:
    """The same rule in two runtimes (owned: the job's SQL; owns: the copy's Python), on the same rows."""
    d = BY_NAME[name]
    zone = "Pacific/Auckland"
    if d.newest_time.covers is Covers.BUSINESS_DAY:
        values: list[object] = ["2026-11-29", "2026-11-30", "2026-12-01"]
    else:
        values = [T1 - 60_001, T1 - 1, T1, T1 + 1, T1 + 60_000]
    for value in values:
        row = {d.newest_time.column: value}
        assert owns(d, row, T1, zone) == _row_owned(d, value, zone=zone), (name, value)
