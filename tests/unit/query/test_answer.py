"""Every query returns an Answer naming the tables it read (query/answer.py)."""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from query import analytics
from query.analytics import Filters, Tables
from query.answer import Answer, read_from
from query.pinot import Queryable
from tests.support.fake_pinot import FakePinot


def test_read_from_names_each_table_once_in_the_order_read() -> None:
    a = Answer(1, ("events",))
    b = Answer(2, ("events", "dead_letters"))
    c = Answer(3, ("product_metrics",))
    assert read_from(a, b, c) == "events, dead_letters, product_metrics"
    assert read_from() == ""


def test_map_keeps_the_tables() -> None:
    answer = Answer([1, 2], ("visits",)).map(sum)
    assert answer == Answer(3, ("visits",))


def _queries() -> list[str]:
    found = []
    for name, fn in inspect.getmembers(analytics, inspect.isfunction):
        if fn.__module__ != analytics.__name__ or name.startswith("_"):
            continue
        hints = typing.get_type_hints(fn)
        if any(h is Queryable for h in hints.values()):
            found.append(name)
    return found


def test_every_query_returns_an_answer() -> None:
    queries = _queries()
    assert {"active_users", "totals", "newest_event_time"} <= set(queries)  # the scan found them
    not_answers = [
        name
        for name in queries
        if typing.get_origin(typing.get_type_hints(getattr(analytics, name))["return"]) is not Answer
    ]
    assert not_answers == []


T = Tables()
EDGES = [1_795_000_000_000, 1_795_000_060_000, 1_795_000_120_000]
START, END = datetime(2026, 11, 29, 10, tzinfo=UTC), datetime(2026, 11, 29, 11, tzinfo=UTC)
NONE = Filters()
MOBILE = Filters(device_type="mobile")
CALLS: dict[str, Callable[[Queryable], Answer[Any]]] = {
    "active_days": lambda p: analytics.active_days(p, T, "2026-11-28", "2026-11-29"),
    "active_users": lambda p: analytics.active_users(p, T, EDGES, True, NONE),
    "active_users_sliding": lambda p: analytics.active_users_sliding(p, T, EDGES),
    "brands": lambda p: analytics.brands(p, T, START, END, "revenue", 10, 0),
    "data_quality": lambda p: analytics.data_quality(p, T, EDGES),
    "dead_letters": lambda p: analytics.dead_letters(p, T, START, END, None, 10, 0),
    "dimension_values": lambda p: analytics.dimension_values(p, T, START, END, 10),
    "event_types": lambda p: analytics.event_types(p, T, EDGES, MOBILE),
    "first_seen_per_minute": lambda p: analytics.first_seen_per_minute(p, T, ["2026-11-29"], EDGES[-1]),
    "first_seen_per_user": lambda p: analytics.first_seen_per_user(p, T, EDGES[-1]),
    "funnel": lambda p: analytics.funnel(p, T, START, END, NONE, "device_type"),
    "landing_pages": lambda p: analytics.landing_pages(p, T, START, END, NONE, "sessions", 10, 0),
    "locations": lambda p: analytics.locations(p, T, START, END, NONE, "revenue", 10, 0),
    "newest_event_time": lambda p: analytics.newest_event_time(p, T),
    "orders_per_customer": lambda p: analytics.orders_per_customer(p, T, START, END, NONE),
    "page_views_by_hour": lambda p: analytics.page_views_by_hour(p, T, EDGES, NONE),
    "product_info": lambda p: analytics.product_info(p, T, "p-1"),
    "product_series": lambda p: analytics.product_series(p, T, "p-1", EDGES, MOBILE),
    "product_totals": lambda p: analytics.product_totals(p, T, START, END, NONE, ["p-1"]),
    "regions": lambda p: analytics.regions(p, T, START, END, "revenue", 10, 0),
    "revenue": lambda p: analytics.revenue(p, T, EDGES, NONE),
    "revenue_per_minute": lambda p: analytics.revenue_per_minute(p, T, EDGES[0], EDGES[-1]),
    "session": lambda p: analytics.session(p, T, "s-1"),
    "sessions": lambda p: analytics.sessions(p, T, START, END, NONE, None, "revenue", 10, 0),
    "top_categories": lambda p: analytics.top_categories(p, T, START, END, NONE, "revenue", 10, 0),
    "top_products": lambda p: analytics.top_products(p, T, START, END, MOBILE, "views", 10, 0),
    "top_referrers": lambda p: analytics.top_referrers(p, T, START, END, "page_views", 10, 0),
    "totals": lambda p: analytics.totals(p, T, START, END, NONE),
    "visits": lambda p: analytics.visits(p, T, EDGES),
}


def test_every_query_is_called_below() -> None:
    assert set(CALLS) == set(_queries())


@pytest.mark.parametrize("name", sorted(CALLS))
def test_an_answer_names_exactly_the_tables_its_query_read(name: str) -> None:
    fake = FakePinot(answer=lambda sql: [{"n": 3}] if sql.startswith("SELECT COUNT(*) AS n FROM") else [])
    answer = CALLS[name](fake)
    read = [m.group(1) for sql in fake.sent for m in re.finditer(r"FROM (\w+)", sql)]
    assert read, "the query read nothing"
    assert answer.tables == tuple(dict.fromkeys(read))
