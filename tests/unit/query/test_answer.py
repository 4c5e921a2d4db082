"""Every query returns an Answer naming the tables it read (query/answer.py)."""

from __future__ import annotations

import inspect
import typing

from query import analytics
from query.answer import Answer, read_from
from query.pinot import Queryable


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
