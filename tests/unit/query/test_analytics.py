"""The query layer on the SQL it builds and on fake Pinot answers (no engine)."""

from __future__ import annotations

import itertools
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api import buckets
from api.buckets import DAY_MS, HOUR_MS, Granularity, to_ms
from query import analytics
from query.analytics import Filters, Tables, bucket_sql, page, present
from tests.support.fake_pinot import FakePinot, bucket_of

T = Tables()
START, END = datetime(2026, 11, 29, 10, tzinfo=UTC), datetime(2026, 11, 29, 11, tzinfo=UTC)
PINOT_DIR = Path(__file__).resolve().parents[3] / "pinot"


def test_page_slices_an_ordered_result() -> None:
    rows = list(range(10))
    assert page(rows, 0, 3) == [0, 1, 2]
    assert page(rows, 8, 3) == [8, 9]
    assert page(rows, 10, 3) == []


def test_presence_is_said_with_the_event_types_that_carry_a_field() -> None:
    products = "event_type IN ('add_to_cart', 'product_view', 'purchase')"
    assert present("product_id") == products
    assert present("product_category") == products
    assert present("order_id") == "event_type IN ('purchase')"
    assert present("referrer_url") == "event_type IN ('page_view') AND referrer_url IS NOT NULL"
    assert present("device_type") is None
    assert present("user_id") is None


def test_bucket_sql_is_plain_arithmetic_for_uniform_buckets() -> None:
    edges = [0, 60_000, 120_000, 180_000]
    assert bucket_sql("t", edges) == "(0 + FLOOR((t - 0) / 60000) * 60000)"
    with pytest.raises(ValueError, match="at least one bucket"):
        bucket_sql("t", [0])


def _zone_edges(zone: str, g: Granularity, first: str, n: int) -> list[int]:
    tz = ZoneInfo(zone)
    start = buckets.floor(to_ms(datetime.fromisoformat(first)), g, tz)
    out = [start]
    for _ in range(n):
        out.append(buckets.next_start(out[-1], g, tz))
    return out


@settings(max_examples=150, deadline=None)
@given(
    zone=st.sampled_from(["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Europe/Kyiv"]),
    g=st.sampled_from([Granularity.hour, Granularity.day]),
    first=st.sampled_from(
        ["2026-03-07T00:00:00+00:00", "2026-10-02T00:00:00+00:00", "2026-11-01T00:00:00+00:00"]
    ),
    n=st.integers(1, 60),
    data=st.data(),
)
@pytest.mark.slow
def test_bucket_sql_maps_every_instant_to_its_python_bucket(
    zone: str, g: Granularity, first: str, n: int, data: st.DataObject
) -> None:
    edges = _zone_edges(zone, g, first, n)
    sql = f"SELECT {bucket_sql('event_timestamp', edges)} AS bucket"
    for _ in range(20):
        t = data.draw(st.integers(edges[0], edges[-1] - 1))
        i = max(k for k in range(len(edges) - 1) if edges[k] <= t)
        assert bucket_of(sql, t) == edges[i]
    # Edges themselves, and the last instant of each bucket.
    for a, b in itertools.pairwise(edges):
        assert bucket_of(sql, a) == a
        assert bucket_of(sql, b - 1) == a


def test_bucket_sql_has_few_runs_even_for_long_dst_ranges() -> None:
    tz = ZoneInfo("America/New_York")
    start = buckets.day_start(datetime(2000, 1, 1).date(), tz)
    edges = buckets.edges(start, start + 9_000 * DAY_MS, Granularity.day, tz, limit=10_000)
    sql = bucket_sql("event_timestamp", edges)
    assert sql.count("WHEN") < 5 * 26  # a few runs a year, not one WHEN per bucket
    assert len(sql) < 40_000
    # Floor of a double quotient is exact for these magnitudes: check an instant just before an edge.
    assert bucket_of(f"SELECT {sql}", edges[5000] - 1) == edges[4999]
    assert math.isfinite(float(edges[-1]))


def test_no_query_uses_pinot_zone_rules() -> None:
    fake = FakePinot()
    edges = _zone_edges("Europe/Kyiv", Granularity.day, "2026-11-28T22:00:00+00:00", 3)
    analytics.active_users(fake, T, edges, False, Filters())
    analytics.revenue(fake, T, edges, Filters(device_type="mobile"))
    analytics.data_quality(fake, T, edges)
    analytics.product_series(fake, T, "p-1", edges, Filters())
    assert fake.sent
    for sql in fake.sent:
        assert "dateTrunc" not in sql
        assert "Kyiv" not in sql
        assert f">= {edges[0]} AND" in sql
        assert f"< {edges[-1]}" in sql


def test_top_products_fetches_offset_plus_limit_and_slices() -> None:
    zeros = {"add_to_carts": 0, "purchases": 0, "units": 0, "revenue": 0.0, "price_sum": 1.0}
    ranked = [
        {"product_id": f"p{i}", "product_name": "n", "product_category": "c", "events": 1, "views": 10 - i}
        | zeros
        for i in range(5)
    ]

    def answer(sql: str) -> list[dict[str, object]]:
        n = int(re.search(r"LIMIT (\d+)$", sql).group(1))  # type: ignore[union-attr]
        return ranked[:n]  # OFFSET ignored, as Pinot 0.11 does with GROUP BY

    fake = FakePinot(answer=answer)
    rows = analytics.top_products(fake, T, START, END, Filters(), "views", limit=2, offset=3).rows
    assert [r["product_id"] for r in rows] == ["p3", "p4"]
    assert fake.sent[-1].endswith("ORDER BY views DESC, product_id LIMIT 5")
    assert "OFFSET" not in fake.sent[-1]
    assert analytics.top_products(fake, T, START, END, Filters(), "views", limit=2, offset=5).rows == []


def test_top_products_uses_the_minutes_unless_a_session_dimension_is_filtered() -> None:
    fake = FakePinot()
    analytics.top_products(fake, T, START, END, Filters(product_category="null"), "revenue", 5, 0)
    minutes = fake.sent[-1]
    assert " FROM product_metrics " in minutes
    assert "product_category = 'null'" in minutes
    assert "event_type" not in minutes  # the minute rows always have a category
    analytics.top_products(fake, T, START, END, Filters(os="iOS", product_category="null"), "units", 5, 0)
    events = fake.sent[-1]
    assert " FROM events " in events
    assert "product_category = 'null' AND event_type IN ('add_to_cart', 'product_view', 'purchase')" in events
    with pytest.raises(ValueError, match="unknown sort"):
        analytics.top_products(fake, T, START, END, Filters(), "price; DROP", 5, 0)


def test_funnel_breakdown_by_category_counts_product_events_only() -> None:
    fake = FakePinot()
    analytics.funnel(fake, T, START, END, Filters(), "product_category")
    assert len(fake.sent) == 3
    for sql in fake.sent:
        assert "GROUP BY product_category" in sql
        assert "IS NOT NULL" not in sql
        assert "event_type IN ('add_to_cart', 'product_view', 'purchase')" in sql


def test_sessions_page_by_ids_in_order() -> None:
    def answer(sql: str) -> list[dict[str, object]]:
        if "COUNT(*)" in sql:
            return [{"n": 4}]
        if sql.startswith("SELECT session_id, revenue"):
            return [{"session_id": s, "revenue": 1.0} for s in ["b", "a", "d", "c"]]
        return [{"session_id": s} for s in re.findall(r"'(\w)'", sql.split(" IN ")[1])]

    fake = FakePinot(answer=answer)
    total, rows = analytics.sessions(fake, T, START, END, Filters(os="iOS"), "u1", "revenue", 2, 1).rows
    assert total == 4
    assert [r["session_id"] for r in rows] == ["a", "d"]
    assert "ORDER BY revenue DESC, session_id LIMIT 3" in fake.sent[1]
    assert "session_id IN ('a', 'd')" in fake.sent[2]
    assert "user_id = 'u1'" in fake.sent[1]
    assert "os = 'iOS'" in fake.sent[1]


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in PINOT_DIR.glob("*/table.json")))
def test_every_table_stores_nulls(folder: str) -> None:
    table = json.loads((PINOT_DIR / folder / "table.json").read_text())
    assert table["tableIndexConfig"]["nullHandlingEnabled"] is True


def test_hour_edges_of_a_uniform_zone_are_one_run() -> None:
    edges = _zone_edges("Asia/Kathmandu", Granularity.hour, "2026-06-01T00:00:00+00:00", 48)
    assert "CASE" not in bucket_sql("ingest_time", edges)
    assert all(b - a == HOUR_MS for a, b in itertools.pairwise(edges))
