"""A rebuild from a time on (flink_jobs/since.py): which rows the new job writes and which it carries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from core.business_day import business_day
from core.datasets import DATASETS, Covers, Dataset
from core.generations import Generation
from core.settings import Settings
from flink_jobs.pipeline import INSERTS, Topics, Variant, read_sql, statements
from flink_jobs.since import Since, carried_insert, owned, owned_insert

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


def test_the_owned_insert_wraps_the_dataset_query_and_the_carried_one_keeps_the_rest() -> None:
    d = BY_NAME["visits"]
    original = read_sql("insert_visits", {"visit_gap_ms": "1", "visit_horizon_ms": "2"})
    wrapped = owned_insert(original, d, T1, "UTC")
    assert wrapped.startswith("INSERT INTO visits\nSELECT * FROM (\nSELECT user_id, visit_start")
    assert wrapped.endswith(f"\n)\nWHERE `visit_end` >= {T1}")
    assert carried_insert(d, T1, "UTC") == (
        "INSERT INTO carry_visits\nSELECT `user_id`, `visit_start`, `visit_end`, `events`, `page_views`, "
        f"`superseded`, `version` FROM carried_visits\nWHERE NOT (`visit_end` >= {T1})"
    )
    with pytest.raises(ValueError, match="not the INSERT of events"):
        owned_insert(original, BY_NAME["events"], T1, "UTC")


def test_a_rebuild_job_has_every_insert_owned_and_a_copy_of_each_served_topic() -> None:
    served = Topics()
    since = Since(T1, tuple((d.name, served.for_dataset(d)) for d in DATASETS))
    settings = Settings()
    job = Generation(1).job_name
    ddl, inserts = statements(settings, Topics.for_generation(Generation(1)), job, job, Variant(since=since))
    plain_ddl, plain_inserts = statements(settings, Topics.for_generation(Generation(1)), job, job)
    assert len(plain_inserts) == len(INSERTS) == len(DATASETS)
    assert inserts[: len(DATASETS)] == [
        owned_insert(i, d, T1, settings.business_time_zone)
        for i, d in zip(plain_inserts, DATASETS, strict=True)
    ]
    assert inserts[len(DATASETS) :] == [carried_insert(d, T1, settings.business_time_zone) for d in DATASETS]
    assert ddl[: len(plain_ddl)] == plain_ddl
    added = ddl[len(plain_ddl) :]
    assert len(added) == 2 * len(DATASETS)
    for d, source, sink in zip(DATASETS, added[::2], added[1::2], strict=True):
        # the served topic read once, to its end as of the start, committed with the job's group
        assert f"CREATE TABLE carried_{d.name} (" in source
        assert "PRIMARY KEY" not in source
        assert f"'topic' = '{served.for_dataset(d)}'" in source
        assert "'scan.bounded.mode' = 'latest-offset'" in source
        assert f"'properties.group.id' = '{job}'" in source
        assert "'properties.isolation.level' = 'read_committed'" in source
        # into the new topic, with Kafka transactions of its own
        assert f"CREATE TABLE carry_{d.name} (" in sink
        assert f"'topic' = '{Generation(1).topic(d.topic)}'" in sink
        assert f"'sink.transactional-id-prefix' = '{job}.carry.{d.name}'" in sink
