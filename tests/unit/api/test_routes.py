"""The routes end to end through FastAPI, with the Pinot dependency overridden by a fake that answers
the query layer's SQL the way Pinot 0.11 does (including ignoring OFFSET in GROUP BY queries)."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.buckets import to_ms
from api.deps import get_now, get_pinot
from api.main import create_app
from api.timerange import MAX_BUCKETS
from core.generations import Generation, serving_path, write_serving
from core.settings import Settings
from query.pinot import PinotQueryFailed, PinotUnavailable
from tests.support.fake_pinot import FakePinot, Rows, bucket_of, time_bounds

NOW = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)
JAVA_TRACE = (
    "QueryExecutionError:\njava.lang.IllegalArgumentException: Cannot find zone id Europe/Kyiv\n"
    "\tat org.joda.time.DateTimeZone.forID(DateTimeZone.java:253)"
)


@pytest.fixture
def fake() -> FakePinot:
    return FakePinot()


@pytest.fixture
def client(fake: FakePinot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(Settings(port_offset=31000, run_dir=tmp_path_factory.mktemp("run")))
    app.dependency_overrides[get_pinot] = lambda: fake
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def ok(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# Paging -------------------------------------------------------------------------------------------


def _limit(sql: str) -> int:
    m = re.search(r"LIMIT (\d+)$", sql)
    assert m, sql
    return int(m.group(1))


def _ranking_pinot(views: dict[str, int]) -> Callable[[str], Rows]:
    """Pinot's answer to the ranking query: ORDER BY honoured, OFFSET ignored (0.11 with GROUP BY)."""

    def answer(sql: str) -> Rows:
        if "GROUP BY product_id, product_name" not in sql:
            return []
        assert "OFFSET" not in sql
        ranked = sorted(views.items(), key=lambda kv: (-kv[1], kv[0]))
        return [
            {
                "product_id": pid,
                "product_name": f"name {pid}",
                "product_category": "books",
                "events": v,
                "views": v,
                "add_to_carts": 0,
                "purchases": 0,
                "units": 0,
                "revenue": 0.0,
                "price_sum": 2.0 * v,
            }
            for pid, v in ranked[: _limit(sql)]
        ]

    return answer


VIEWS = {"p-a": 9, "p-b": 7, "p-c": 7, "p-d": 7, "p-e": 5, "p-f": 1, "p-g": 1}
FULL_RANKING = ["p-a", "p-b", "p-c", "p-d", "p-e", "p-f", "p-g"]  # ties broken by product_id


@pytest.mark.parametrize("offset", [0, 1, 2, 5, 6, 7, 100])
def test_product_pages_are_slices_of_one_total_order_with_true_ranks(
    client: TestClient, fake: FakePinot, offset: int
) -> None:
    fake.answer = _ranking_pinot(VIEWS)
    body = ok(client, "/metrics/products", **{"from": "-1h"}, sort="views", limit=2, offset=offset)
    assert [p["product_id"] for p in body["data"]] == FULL_RANKING[offset : offset + 2]
    assert [p["rank"] for p in body["data"]] == [offset + 1 + i for i in range(len(body["data"]))]
    [sql] = fake.queries("GROUP BY product_id, product_name")
    assert _limit(sql) == offset + 2
    assert "ORDER BY views DESC, product_id" in sql


def test_walking_all_pages_neither_repeats_nor_skips(client: TestClient, fake: FakePinot) -> None:
    fake.answer = _ranking_pinot(VIEWS)
    seen = []
    for offset in range(0, 8, 3):
        body = ok(client, "/metrics/products", sort="views", limit=3, offset=offset)
        seen += [(p["rank"], p["product_id"]) for p in body["data"]]
    assert seen == list(enumerate(FULL_RANKING, start=1))


def test_compare_asks_for_the_page_products_only(client: TestClient, fake: FakePinot) -> None:
    ranking = _ranking_pinot(VIEWS)

    def answer(sql: str) -> Rows:
        if "GROUP BY product_id LIMIT" in sql:
            return [
                {"product_id": "p-d", "events": 2, "views": 2, "add_to_carts": 0}
                | {"purchases": 0, "units": 0, "revenue": 0.0, "price_sum": 3.0}
            ]
        return ranking(sql)

    fake.answer = answer
    body = ok(client, "/metrics/products", limit=2, offset=2, compare="previous_period")
    assert [p["product_id"] for p in body["data"]] == ["p-c", "p-d"]
    assert [p["previous"]["views"] for p in body["data"]] == [0, 2]
    [sql] = fake.queries("GROUP BY product_id LIMIT")
    assert "product_id IN ('p-c', 'p-d')" in sql


def test_session_pages_come_from_an_ordered_id_list(client: TestClient, fake: FakePinot) -> None:
    order = [f"s{i}" for i in range(10)]

    def row(sid: str) -> dict[str, Any]:
        return {
            "session_id": sid,
            "user_id": "u1",
            "device_type": "mobile",
            "os": "iOS",
            "browser": "Safari",
            "location": "X",
            "events": 10 - int(sid[1:]),
            "page_views": 1,
            "products_viewed": 0,
            "products_carted": 0,
            "orders": 0,
            "units": 0,
            "revenue": 0.0,
            "first_event_time": 1_795_000_000_000,
            "last_event_time": 1_795_000_001_000,
        }

    def answer(sql: str) -> Rows:
        if sql.startswith("SELECT COUNT(*) AS n"):
            return [{"n": len(order)}]
        if sql.startswith("SELECT session_id, events"):
            assert "ORDER BY events DESC, session_id" in sql
            assert "OFFSET" not in sql
            return [{"session_id": s, "events": 10 - int(s[1:])} for s in order[: _limit(sql)]]
        ids = re.findall(r"'(s\d+)'", sql)
        return [row(s) for s in reversed(ids)]  # Pinot's order of an IN lookup is arbitrary

    fake.answer = answer
    body = ok(client, "/metrics/sessions", sort="events", limit=3, offset=4)
    assert [s["session_id"] for s in body["data"]] == ["s4", "s5", "s6"]
    assert body["total"] == 10
    assert _limit(fake.queries("SELECT session_id, events")[0]) == 7


# Absent values ------------------------------------------------------------------------------------


def _events_pinot(events: list[dict[str, Any]]) -> Callable[[str], Rows]:
    """Evaluates the active-users SQL over in-memory events stored the way Pinot 0.11 stores them."""

    def matches(e: dict[str, Any], where: str) -> bool:
        for col, value in re.findall(r"(\w+) = '([^']*)'", where):
            if str(e[col]) != value:
                return False
        for col, values in re.findall(r"(\w+) IN \(([^)]*)\)", where):
            if str(e[col]) not in re.findall(r"'([^']*)'", values):
                return False
        return "IS NOT NULL" not in where

    def answer(sql: str) -> Rows:
        if "DISTINCTCOUNT(user_id)" not in sql:
            return []
        lo, hi = time_bounds(sql, "event_timestamp")
        where = sql.split(" WHERE ", 1)[1].split(" GROUP BY ")[0]
        groups: dict[float, list[dict[str, Any]]] = defaultdict(list)
        for e in events:
            if lo <= e["event_timestamp"] < hi and matches(e, where):
                groups[bucket_of(sql, e["event_timestamp"])].append(e)
        return [
            {
                "bucket": b,
                "active_users": len({e["user_id"] for e in g}),
                "sessions": len({e["session_id"] for e in g}),
                "events": len(g),
            }
            for b, g in groups.items()
        ]

    return answer


def _event(minutes_ago: int, event_type: str, category: str, user: str) -> dict[str, Any]:
    return {
        "event_timestamp": to_ms(NOW) - minutes_ago * 60_000,
        "event_type": event_type,
        "product_category": category,
        "product_id": "null" if event_type == "page_view" else "p-1",
        "user_id": user,
        "session_id": f"s-{user}",
        "device_type": "mobile",
    }


def test_a_null_filter_matches_the_text_null_only_never_an_absent_category(
    client: TestClient, fake: FakePinot
) -> None:
    fake.answer = _events_pinot(
        [
            _event(30, "page_view", "null", "u1"),  # no category: Pinot 0.11 stores the string "null"
            _event(31, "page_view", "null", "u2"),
            _event(32, "product_view", "null", "u3"),  # a category whose text is "null"
            _event(33, "product_view", "books", "u4"),
        ]
    )
    body = ok(client, "/metrics/active-users", **{"from": "-3h"}, granularity="hour", product_category="null")
    assert sum(p["events"] for p in body["data"]) == 1
    assert sum(p["active_users"] for p in body["data"]) == 1
    [sql] = fake.queries("DISTINCTCOUNT(user_id)")
    assert "product_category = 'null' AND event_type IN ('add_to_cart', 'product_view', 'purchase')" in sql
    body = ok(
        client, "/metrics/active-users", **{"from": "-3h"}, granularity="hour", product_category="books"
    )
    assert sum(p["events"] for p in body["data"]) == 1


def test_products_from_events_never_rank_the_absent_product(client: TestClient, fake: FakePinot) -> None:
    ok(client, "/metrics/products", device_type="mobile")
    [sql] = fake.queries("GROUP BY product_id, product_name")
    assert " FROM events " in sql
    assert "event_type IN ('add_to_cart', 'product_view', 'purchase')" in sql
    assert "IS NOT NULL" not in sql  # matches every row of a segment without a null vector


# Time zones ---------------------------------------------------------------------------------------


def test_the_issues_kyiv_day_is_one_python_bucket_and_no_pinot_zone_rules(
    client: TestClient, fake: FakePinot
) -> None:
    kyiv_midnight = to_ms(datetime(2026, 11, 28, 22, tzinfo=UTC))
    fake.answer = _events_pinot(
        [
            {**_event(0, "page_view", "null", "u1"), "event_timestamp": kyiv_midnight},  # first instant
            {**_event(0, "page_view", "null", "u2"), "event_timestamp": kyiv_midnight - 1},  # the day before
        ]
    )
    body = ok(
        client,
        "/metrics/active-users",
        **{"from": "2026-11-29T00:00:00", "to": "2026-11-30T00:00:00"},
        granularity="day",
        tz="Europe/Kyiv",
    )
    assert [(p["bucket"], p["events"]) for p in body["data"]] == [("2026-11-29T00:00:00+02:00", 1)]
    assert body["meta"]["from"] == "2026-11-29T00:00:00+02:00"
    assert body["meta"]["to"] == "2026-11-30T00:00:00+02:00"
    assert not any("dateTrunc" in s or "Europe/Kyiv" in s for s in fake.sent)


def test_hour_buckets_in_kathmandu_and_lord_howe(client: TestClient, fake: FakePinot) -> None:
    body = ok(
        client, "/metrics/revenue", **{"from": "2026-10-04T00:00", "to": "2026-10-04T05:00"},
        granularity="hour", tz="Australia/Lord_Howe",
    )  # fmt: skip
    assert [p["bucket"][11:] for p in body["data"]] == [
        "00:00:00+10:30",
        "01:00:00+10:30",
        "02:30:00+11:00",
        "03:00:00+11:00",
        "04:00:00+11:00",
    ]
    [sql] = fake.queries("SUM(total_amount)")
    assert sql.count("WHEN event_timestamp <") >= 2  # the runs of equal buckets around the change
    body = ok(client, "/metrics/active-users", **{"from": "-2h"}, granularity="hour", tz="Asia/Kathmandu")
    assert all(p["bucket"].endswith(":00:00+05:45") for p in body["data"])


def test_previous_period_is_aligned_by_local_days_across_dst(client: TestClient, fake: FakePinot) -> None:
    paris = ZoneInfo("Europe/Paris")
    at = [datetime(2026, 10, d, 0, 30, tzinfo=paris) for d in (23, 25, 26, 28)]
    fake.answer = _events_pinot(
        [{**_event(0, "page_view", "null", f"u{i}"), "event_timestamp": to_ms(t)} for i, t in enumerate(at)]
    )
    body = ok(
        client,
        "/metrics/active-users",
        **{"from": "2026-10-26", "to": "2026-10-29"},
        granularity="day",
        tz="Europe/Paris",
        compare="previous_period",
        device_type="mobile",
    )
    assert [(p["bucket"], p["events"]) for p in body["data"]] == [
        ("2026-10-26T00:00:00+01:00", 1),
        ("2026-10-27T00:00:00+01:00", 0),
        ("2026-10-28T00:00:00+01:00", 1),
    ]
    assert [(p["bucket"], p["events"]) for p in body["previous"]] == [
        ("2026-10-23T00:00:00+02:00", 1),
        ("2026-10-24T00:00:00+02:00", 0),
        ("2026-10-25T00:00:00+02:00", 1),  # a 25-hour day: 00:30 local is in it
    ]


# Limits and errors -------------------------------------------------------------------------------


def test_huge_relative_range_is_served_as_the_newest_buckets(client: TestClient) -> None:
    body = ok(client, "/metrics/active-users", **{"from": "-999999w"})
    assert len(body["data"]) == MAX_BUCKETS
    assert body["meta"]["to"] == "2026-11-29T12:01:00Z"
    total = ok(client, "/metrics/products", **{"from": "-999999w"}, offset=100_000, limit=1000)
    assert total["meta"]["from"] == "2000-01-01T00:00:00Z"
    assert total["data"] == []


@pytest.mark.parametrize(
    ("query", "empty"),
    [
        ({"from": "9999-12-31T23:59:59", "to": "1000-01-01"}, True),
        ({"from": "now", "to": "now"}, True),
        ({"from": "1000-01-01", "to": "9999-12-31T23:59:59.999999-23:59", "granularity": "day"}, False),
    ],
)
@pytest.mark.slow
def test_extreme_but_valid_ranges_answer_2xx(client: TestClient, query: dict[str, str], empty: bool) -> None:
    for path in ("/metrics/active-users", "/metrics/revenue", "/metrics/data-quality", "/metrics/funnel"):
        body = ok(client, path, **query, compare="previous_period")
        if path != "/metrics/funnel":
            assert (body["data"] == []) is empty
            assert len(body["previous"]) == len(body["data"])


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (PinotQueryFailed("Pinot could not answer the query", JAVA_TRACE, frozenset({200})), 502),
        (PinotUnavailable("Pinot cannot serve this table right now", JAVA_TRACE, frozenset({305})), 503),
        (RuntimeError(JAVA_TRACE), 500),
    ],
)
def test_5xx_bodies_carry_no_engine_internals_and_the_log_does(
    client: TestClient, fake: FakePinot, caplog: pytest.LogCaptureFixture, exc: Exception, status: int
) -> None:
    def broken(sql: str) -> Rows:
        raise exc

    fake.answer = broken
    with caplog.at_level(logging.WARNING, logger="rta.api"):
        r = client.get("/metrics/revenue", params={"from": "-1h"})
    assert r.status_code == status
    [error] = r.json()["detail"]
    assert set(error) == {"loc", "msg", "type"}
    for leak in ("java", "org.joda", "Europe/Kyiv", "Traceback", "\tat "):
        assert leak not in r.text
    ref = re.search(r"ref ([0-9a-f]{12})", error["msg"])
    assert ref
    assert ref.group(1) in caplog.text
    assert "org.joda" in caplog.text
    assert (r.headers.get("retry-after") == "5") is (status == 503)


def test_not_found_and_method_errors_have_the_one_shape(client: TestClient, fake: FakePinot) -> None:
    r = client.get("/metrics/products/p-none")
    assert r.status_code == 404
    assert r.json() == {
        "detail": [
            {
                "loc": ["path", "product_id"],
                "msg": "no product of this id has any events",
                "type": "not_found",
            }
        ]
    }
    for path in ("/metrics/products/", "/metrics/nothing", "/metrics/sessions/a/b"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.json()["detail"][0]["type"] == "not_found"
    r = client.post("/metrics/products")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert r.json()["detail"][0]["type"] == "method_not_allowed"


# The dashboard's routes -----------------------------------------------------------------------------


def test_the_dashboard_page_and_its_library_are_served_from_here(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (307, "/dashboard")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'src="/dashboard/vendor/echarts.min.js"' in page.text  # the library from here, no CDN
    assert "http://" not in page.text
    assert "https://" not in page.text
    for asset in (
        "/dashboard/static/app.js",
        "/dashboard/static/style.css",
        "/dashboard/vendor/echarts.min.js",
    ):
        assert client.get(asset).status_code == 200, asset
    assert client.get("/dashboard/static/../../main.py").status_code == 404


def test_totals_over_nothing_are_zeros_and_nulls(client: TestClient) -> None:
    body = ok(client, "/metrics/summary", **{"from": "-1h"}, compare="previous_period")
    for totals in (body["data"], body["previous"]):
        assert totals["events"] == totals["revenue"] == totals["active_users"] == 0
        assert totals["average_sale_price"] is None
        assert totals["conversion"] is None


def test_order_frequency_fills_the_counts_between(client: TestClient, fake: FakePinot) -> None:
    fake.answer = lambda sql: (
        [{"user_id": "u1", "orders": 1}, {"user_id": "u2", "orders": 3}, {"user_id": "u3", "orders": 1}]
        if "GROUP BY user_id" in sql
        else []
    )
    body = ok(client, "/metrics/customers/order-frequency")
    assert body["customers"] == 3
    assert body["complete"] is True
    assert [(b["orders"], b["customers"]) for b in body["data"]] == [(1, 2), (2, 0), (3, 1)]


def test_hour_of_day_folds_hourly_buckets_into_local_hours(client: TestClient, fake: FakePinot) -> None:
    # 2026-11-29T10:00Z and 2026-11-28T10:00Z are 15:45 in Kathmandu (+05:45): both in hour 15
    hours = [to_ms(datetime(2026, 11, d, 10, tzinfo=UTC)) for d in (28, 29)]
    fake.answer = lambda sql: [{"bucket": float(h), "n": 2} for h in hours] if "page_view" in sql else []
    body = ok(client, "/metrics/page-views/hour-of-day", tz="Asia/Kathmandu", **{"from": "-3d"})
    assert [h["hour"] for h in body["data"]] == list(range(24))
    assert {h["hour"]: h["page_views"] for h in body["data"] if h["page_views"]} == {15: 4}


def test_dead_letter_payloads_are_cut_and_absent_values_are_null(client: TestClient, fake: FakePinot) -> None:
    row = {
        "source_partition": 1,
        "source_offset": 7,
        "source_timestamp": 1_795_000_000_000,
        "reason": "not JSON",
        "reason_code": "not_json",
        "reason_field": "null",
        "payload": "x" * 50,
        "payload_encoding": "utf-8",
        "payload_bytes": 50,
    }
    empty = {**row, "source_offset": 8, "payload": "null", "payload_encoding": "null", "reason_code": "empty"}
    fake.answer = lambda sql: [{"n": 2}] if "COUNT(*)" in sql else [row, empty]
    body = ok(client, "/metrics/dead-letters", payload_chars=10)
    first, second = body["data"]
    assert (first["payload"], first["payload_truncated"], first["reason_field"]) == ("x" * 10, True, None)
    assert (second["payload"], second["payload_encoding"], second["payload_truncated"]) == (None, None, False)
    r = client.get("/metrics/dead-letters", params={"reason_code": "no_such_code"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "reason_code"]


def test_kafka_routes_say_503_when_the_broker_is_down(client: TestClient) -> None:
    for path in ("/kafka/topics", "/kafka/topics/raw_events/records"):
        r = client.get(path)  # nothing listens on the test settings' Kafka port
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"]
        assert r.json()["detail"][0]["type"] == "unavailable"
    assert client.get("/kafka/topics/bad%20name/records").status_code == 422


def test_the_zone_list_is_what_tz_accepts(client: TestClient) -> None:
    zones = ok(client, "/time-zones")["data"]
    assert zones == sorted(zones)
    assert {"UTC", "Asia/Kathmandu", "Asia/Katmandu", "Europe/Kyiv"} <= set(zones)
    for zone in zones[:: max(1, len(zones) // 20)]:
        assert client.get("/metrics/summary", params={"tz": zone}).status_code == 200, zone


def test_an_open_range_compares_with_as_much_time_as_has_passed(client: TestClient, fake: FakePinot) -> None:
    ok(client, "/metrics/summary", **{"from": "-15m"}, compare="previous_period")
    now = to_ms(NOW)
    start = now - now % 60_000 - 15 * 60_000  # NOW is 12:00:30: the range is 11:45 .. 12:01
    spans = {time_bounds(sql, "event_timestamp") for sql in fake.queries("COUNT(*) AS events")}
    assert spans == {(start, start + 16 * 60_000), (start - (now - start), start)}


# Sliding windows ----------------------------------------------------------------------------------


def test_sliding_active_users_gap_fill_each_window_start_and_judge_the_newest_by_its_end(
    client: TestClient, fake: FakePinot
) -> None:
    at = to_ms(datetime(2026, 11, 29, 11, 50, tzinfo=UTC))
    fake.answer = lambda sql: (
        [{"window_start": float(at), "active_users": 7, "sessions": 8, "events": 30}]
        if "FROM active_users_sliding" in sql
        else []
    )
    # The newest queryable event is at 11:59:00; with the 5 s watermark delay, 11:58 is the newest
    # closed minute.
    fake.newest_event_ms = to_ms(datetime(2026, 11, 29, 11, 59, tzinfo=UTC))
    body = ok(
        client, "/metrics/active-users/sliding", **{"from": "2026-11-29T11:45:00Z"}, to="2026-11-29T11:55:00Z"
    )
    assert [p["bucket"] for p in body["data"]][:2] == ["2026-11-29T11:45:00Z", "2026-11-29T11:46:00Z"]
    assert len(body["data"]) == 10
    point = next(p for p in body["data"] if p["bucket"] == "2026-11-29T11:50:00Z")
    assert point == {
        "bucket": "2026-11-29T11:50:00Z",
        "window_end": "2026-11-29T11:55:00Z",
        "active_users": 7,
        "sessions": 8,
        "events": 30,
    }
    assert body["data"][0]["active_users"] == 0
    assert body["data"][0]["window_end"] == "2026-11-29T11:50:00Z"
    assert body["meta"]["source"] == "active_users_sliding"
    # The newest window starts at 11:54 and ends at 11:59, after the newest closed minute (11:58).
    assert body["meta"]["newest_bucket_final"] is False
    body = ok(
        client, "/metrics/active-users/sliding", **{"from": "2026-11-29T11:45:00Z"}, to="2026-11-29T11:54:00Z"
    )
    assert body["meta"]["newest_bucket_final"] is True  # ends 11:58


def test_sliding_window_ends_are_five_minutes_of_time_across_a_clock_change(client: TestClient) -> None:
    # New York falls back at 06:00Z on 2026-11-01: 01:58 EDT + 5 min is 01:03 EST.
    body = ok(
        client,
        "/metrics/active-users/sliding",
        **{"from": "2026-11-01T05:55:00Z"},
        to="2026-11-01T06:05:00Z",
        tz="America/New_York",
    )
    ends = {p["bucket"]: p["window_end"] for p in body["data"]}
    assert ends["2026-11-01T01:58:00-04:00"] == "2026-11-01T01:03:00-05:00"
    assert ends["2026-11-01T01:00:00-05:00"] == "2026-11-01T01:05:00-05:00"


def test_day_to_date_totals_run_from_each_business_midnight(
    fake: FakePinot, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Asia/Kolkata (UTC+05:30): 2026-11-30 starts at 2026-11-29T18:30Z.
    settings = Settings(
        port_offset=31000, run_dir=tmp_path_factory.mktemp("run"), business_time_zone="Asia/Kolkata"
    )
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: fake

    def at(hh_mm: str, day: int = 29) -> int:
        return to_ms(datetime.fromisoformat(f"2026-11-{day}T{hh_mm}:00+00:00"))

    app.dependency_overrides[get_now] = lambda: datetime(2026, 11, 29, 19, tzinfo=UTC)
    first_seen = [("2026-11-29", "18:00", 3), ("2026-11-29", "18:28", 2), ("2026-11-30", "18:30", 1)]
    first_seen.append(("2026-11-30", "18:31", 4))
    sales = [(at("17:00"), 10.0), (at("18:29"), 5.0), (at("18:31"), 2.5), (at("18:29", day=28), 100.0)]
    fake.answer = lambda sql: (
        [{"business_day": d, "minute": float(at(m)), "users": float(n)} for d, m, n in first_seen]
        if "FROM user_days" in sql
        else [{"window_start": t, "revenue": r} for t, r in sales]
        if "FROM product_metrics" in sql
        else []
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        body = ok(
            client, "/metrics/day-to-date", **{"from": "2026-11-29T18:27:00Z"}, to="2026-11-29T18:33:00Z"
        )
    assert body["business_time_zone"] == "Asia/Kolkata"
    got = [(p["business_day"], p["users"], p["new_users"], p["revenue"]) for p in body["data"]]
    assert got == [
        ("2026-11-29", 3, 0, 10.0),  # 18:27Z: the users first seen at 18:00, the revenue of 17:00
        ("2026-11-29", 5, 2, 10.0),
        ("2026-11-29", 5, 0, 15.0),
        ("2026-11-30", 1, 1, 0.0),  # 18:30Z is midnight in Kolkata: the totals restart
        ("2026-11-30", 5, 4, 2.5),
        ("2026-11-30", 5, 0, 2.5),
    ]
    (users_sql,) = fake.queries("FROM user_days")
    assert "business_day IN ('2026-11-29', '2026-11-30')" in users_sql
    assert f"first_seen < {at('18:33')}" in users_sql
    (sales_sql,) = fake.queries("FROM product_metrics")
    assert f"window_start >= {at('18:27') - 26 * 3_600_000}" in sales_sql


def test_visits_per_bucket_leave_superseded_rows_out(client: TestClient, fake: FakePinot) -> None:
    ten = to_ms(datetime(2026, 11, 29, 10, tzinfo=UTC))
    fake.answer = lambda sql: (
        [{"bucket": float(ten), "visits": 4.0, "bounces": 1.0, "duration_ms": 360_000.0, "page_views": 10.0}]
        if "FROM visits" in sql
        else []
    )
    body = ok(
        client,
        "/metrics/visits",
        **{"from": "2026-11-29T10:00:00Z"},
        to="2026-11-29T12:00:00Z",
        granularity="hour",
    )
    assert body["data"] == [
        {
            "bucket": "2026-11-29T10:00:00Z",
            "visits": 4,
            "bounces": 1,
            "bounce_rate": 0.25,
            "avg_duration_s": 90.0,
            "pages_per_visit": 2.5,
        },
        {
            "bucket": "2026-11-29T11:00:00Z",
            "visits": 0,
            "bounces": 0,
            "bounce_rate": None,
            "avg_duration_s": None,
            "pages_per_visit": None,
        },
    ]
    (sql,) = fake.queries("FROM visits")
    assert "WHERE superseded = false AND visit_start >= " in sql


def test_retention_groups_users_by_the_week_of_their_first_event(client: TestClient, fake: FakePinot) -> None:
    def at(day: str) -> float:
        return float(to_ms(datetime.fromisoformat(f"{day}T12:00:00+00:00")))

    # Mondays: 2026-11-16 and 2026-11-23. u1 and u2 start in the first week, u3 in the second; u0 came
    # before the range, so it is in no cohort.
    firsts = {"u0": at("2026-11-10"), "u1": at("2026-11-17"), "u2": at("2026-11-20"), "u3": at("2026-11-24")}
    active = [("u0", "2026-11-24"), ("u1", "2026-11-17"), ("u1", "2026-11-25"), ("u2", "2026-11-20")]
    active.append(("u3", "2026-11-24"))
    fake.answer = lambda sql: (
        [{"user_id": u, "earliest": t} for u, t in firsts.items()]
        if "MIN(first_seen)" in sql
        else [{"user_id": u, "business_day": d} for u, d in active]
        if "FROM user_days" in sql
        else []
    )
    body = ok(
        client,
        "/metrics/retention",
        **{"from": "2026-11-17T00:00:00Z"},
        to="2026-11-26T00:00:00Z",
        period="week",
    )
    assert body["complete"] is True
    assert body["cohorts"] == [
        {
            "cohort": "2026-11-16",
            "users": 2,
            "retention": [{"period": 0, "active": 2, "share": 1.0}, {"period": 1, "active": 1, "share": 0.5}],
        },
        {"cohort": "2026-11-23", "users": 1, "retention": [{"period": 0, "active": 1, "share": 1.0}]},
    ]
    (days_sql,) = [q for q in fake.queries("FROM user_days") if "business_day >=" in q]
    assert "business_day >= '2026-11-16' AND business_day <= '2026-11-25'" in days_sql
    fake.sent.clear()
    long = ok(client, "/metrics/retention", **{"from": "2026-01-01T00:00:00Z"}, to="2026-11-01T00:00:00Z")
    assert long["meta"]["from"] == "2026-08-02T00:00:00Z"  # clamped to the newest 92 days
    (days_sql,) = [q for q in fake.queries("FROM user_days") if "business_day >=" in q]
    assert "business_day >= '2026-08-02' AND business_day <= '2026-10-31'" in days_sql
    assert client.get("/metrics/retention", params={"period": "month"}).status_code == 422


def test_brands_rank_with_conversion_from_viewing_and_buying_sessions(
    client: TestClient, fake: FakePinot
) -> None:
    totals = [
        {
            "brand": "Voltrix",
            "views": 10.0,
            "add_to_carts": 3.0,
            "purchases": 2.0,
            "units": 3.0,
            "revenue": 90.0,
        },
        {
            "brand": "unknown",
            "views": 0.0,
            "add_to_carts": 0.0,
            "purchases": 1.0,
            "units": 1.0,
            "revenue": 5.0,
        },
        {
            "brand": "Kestrel",
            "views": 4.0,
            "add_to_carts": 1.0,
            "purchases": 1.0,
            "units": 1.0,
            "revenue": 20.0,
        },
    ]
    sessions = {
        "product_view": {"Voltrix": 8.0, "Kestrel": 2.0},
        "purchase": {"Voltrix": 2.0, "Kestrel": 1.0},
    }

    def answer(sql: str) -> Rows:
        if "DISTINCTCOUNT(session_id)" in sql:
            kind = "purchase" if "event_type = 'purchase'" in sql else "product_view"
            return [{"brand": b, "n": n} for b, n in sessions[kind].items()]
        return totals if "FROM enriched_product_events" in sql else []

    fake.answer = answer
    body = ok(client, "/metrics/brands", sort="conversion")
    assert [(b["brand"], b["conversion"]) for b in body["data"]] == [
        ("Kestrel", 0.5),
        ("Voltrix", 0.25),
        ("unknown", None),  # no viewing session: no conversion, ranked last
    ]
    assert body["data"][1] | {"rank": 0} == {
        "rank": 0,
        "brand": "Voltrix",
        "views": 10,
        "add_to_carts": 3,
        "purchases": 2,
        "units": 3,
        "revenue": 90.0,
        "viewing_sessions": 8,
        "buying_sessions": 2,
        "conversion": 0.25,
    }
    assert client.get("/metrics/brands", params={"sort": "brand"}).status_code == 422


def test_regions_rank_the_states_customers_lived_in_when_they_bought(
    client: TestClient, fake: FakePinot
) -> None:
    rows = [
        {
            "customer_country": "FR",
            "customer_state": "FR-AN",
            "customers": 2.0,
            "orders": 3.0,
            "revenue": 50.0,
        },
        {
            "customer_country": "unknown",
            "customer_state": "unknown",
            "customers": 1.0,
            "orders": 1.0,
            "revenue": 70.0,
        },
    ]
    fake.answer = lambda sql: rows if "FROM enriched_product_events" in sql else []
    body = ok(client, "/metrics/customers/regions", sort="customers", limit=1)
    assert body["complete"] is True
    assert body["data"] == [
        {"rank": 1, "country": "FR", "state": "FR-AN", "customers": 2, "orders": 3, "revenue": 50.0}
    ]
    (sql,) = fake.queries("FROM enriched_product_events")
    assert "WHERE event_type = 'purchase'" in sql


# Traffic sources ----------------------------------------------------------------------------------


def test_referrers_widen_the_range_to_whole_windows_and_rank_by_the_sort(
    client: TestClient, fake: FakePinot
) -> None:
    fake.answer = lambda sql: (
        [
            {"referrer_host": "direct", "page_views": 9.0, "sessions": 4.0},
            {"referrer_host": "t.co", "page_views": 2.0, "sessions": 2.0},
        ]
        if "FROM referrer_traffic" in sql
        else []
    )
    body = ok(
        client,
        "/metrics/referrers",
        **{"from": "2026-11-29T10:02:00Z"},
        to="2026-11-29T10:58:00Z",
        sort="sessions",
    )
    assert body["meta"]["from"] == "2026-11-29T10:00:00Z"
    assert body["meta"]["to"] == "2026-11-29T11:00:00Z"
    assert body["data"] == [
        {"rank": 1, "referrer_host": "direct", "page_views": 9, "sessions": 4},
        {"rank": 2, "referrer_host": "t.co", "page_views": 2, "sessions": 2},
    ]
    (sql,) = fake.queries("FROM referrer_traffic")
    start, end = to_ms(datetime(2026, 11, 29, 10, tzinfo=UTC)), to_ms(datetime(2026, 11, 29, 11, tzinfo=UTC))
    assert f"window_start >= {start} AND window_start < {end}" in sql
    assert "ORDER BY sessions DESC, referrer_host" in sql
    r = client.get("/metrics/referrers", params={"sort": "referrer_host"})
    assert r.status_code == 422
    assert "sort" in r.text


def test_landing_pages_rank_the_sessions_that_began_in_the_range(client: TestClient, fake: FakePinot) -> None:
    fake.answer = lambda sql: (
        [
            {"landing_page": "/deals", "sessions": 8.0, "bounces": 2.0},
            {"landing_page": "/", "sessions": 5.0, "bounces": 5.0},
        ]
        if "FROM session_metrics" in sql
        else []
    )
    body = ok(
        client,
        "/metrics/landing-pages",
        **{"from": "2026-11-29T10:00:00Z"},
        to="2026-11-29T11:00:00Z",
        sort="bounces",
        device_type="mobile",
    )
    assert body["data"] == [
        {"rank": 1, "landing_page": "/deals", "sessions": 8, "bounces": 2, "bounce_rate": 0.25},
        {"rank": 2, "landing_page": "/", "sessions": 5, "bounces": 5, "bounce_rate": 1.0},
    ]
    (sql,) = fake.queries("FROM session_metrics")
    start, end = to_ms(datetime(2026, 11, 29, 10, tzinfo=UTC)), to_ms(datetime(2026, 11, 29, 11, tzinfo=UTC))
    assert f"first_event_time >= {start} AND first_event_time < {end} AND page_views > 0" in sql
    assert "device_type = 'mobile'" in sql
    assert "ORDER BY SUM(CASE WHEN page_views = 1 THEN 1 ELSE 0 END) DESC, landing_page" in sql
    for bad in ({"sort": "bounce_rate"}, {"product_category": "books"}):
        r = client.get("/metrics/landing-pages", params=bad)
        assert r.status_code == 422
        assert next(iter(bad)) in r.text


# meta.source --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "table"),
    [
        ("/metrics/active-users", {}, "active_users"),
        ("/metrics/active-users", {"granularity": "hour"}, "events"),
        ("/metrics/active-users", {"device_type": "mobile"}, "events"),
        ("/metrics/active-users/sliding", {}, "active_users_sliding"),
        ("/metrics/products", {}, "product_metrics"),
        ("/metrics/products", {"product_category": "books"}, "product_metrics"),
        ("/metrics/products", {"os": "iOS"}, "events"),
        ("/metrics/products/p-00001", {}, "product_metrics"),
        ("/metrics/products/p-00001", {"browser": "Safari"}, "events"),
        ("/metrics/categories", {}, "product_metrics"),
        ("/metrics/categories", {"location": "Paris"}, "events"),
        ("/metrics/referrers", {}, "referrer_traffic"),
        ("/metrics/landing-pages", {}, "session_metrics"),
        ("/metrics/visits", {}, "visits"),
        ("/metrics/retention", {}, "user_days"),
        ("/metrics/brands", {}, "enriched_product_events"),
        ("/metrics/customers/regions", {}, "enriched_product_events"),
    ],
)
def test_meta_source_names_the_table_the_numbers_came_from(
    client: TestClient, fake: FakePinot, path: str, params: dict[str, str], table: str
) -> None:
    fake.answer = lambda sql: (
        [{"product_id": "p-00001", "product_name": "n", "product_category": "c"}]
        if sql.endswith("LIMIT 1")
        else []
    )
    body = ok(client, path, **params)
    assert body["meta"]["source"] == table
    # Every query read that table, but the freshness probe (the newest event time, for meta.as_of) and
    # a product's name lookup (always from the minute rows).
    read = {
        m.group(1)
        for sql in fake.sent
        if not sql.startswith("SELECT MAX(event_timestamp)") and not sql.endswith("LIMIT 1")
        for m in re.finditer(r"FROM (\w+)", sql)
    }
    assert read == {table}


@pytest.mark.parametrize(
    ("path", "table"),
    [
        ("/metrics/active-users", "active_users"),
        ("/metrics/visits", "visits"),
        ("/metrics/data-quality", "events, dead_letters"),
        ("/metrics/day-to-date", "user_days, product_metrics"),
    ],
)
def test_an_empty_range_names_the_tables_it_would_read_and_reads_none(
    client: TestClient, fake: FakePinot, path: str, table: str
) -> None:
    body = ok(client, path, **{"from": "2026-11-29T10:00:00Z", "to": "2026-11-29T10:00:00Z"})
    assert body["data"] == []
    assert body["meta"]["source"] == table
    assert [sql for sql in fake.sent if not sql.startswith("SELECT MAX(event_timestamp)")] == []


# Generations ---------------------------------------------------------------------------------------


def test_a_rebuild_switches_the_tables_of_the_next_request(fake: FakePinot, tmp_path: Path) -> None:
    settings = Settings(port_offset=31000, run_dir=tmp_path)
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: fake
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client:
        assert ok(client, "/metrics/summary", **{"from": "-1h"})["meta"]["source"] == "events"
        assert fake.queries("FROM events ")
        assert not fake.queries("_g1")
        write_serving(serving_path(tmp_path), Generation(1))
        assert ok(client, "/metrics/summary", **{"from": "-1h"})["meta"]["source"] == "events_g1"
        assert ok(client, "/metrics/products", **{"from": "-1h"})["meta"]["source"] == "product_metrics_g1"
        after = fake.sent[fake.sent.index(fake.queries("_g1")[0]) :]
        assert all("_g1" in q for q in after if " FROM " in q), after
