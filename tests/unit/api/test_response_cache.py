"""Whole responses reused within one second while the cached query answers they came from hold
(api/response_cache.py): the bytes are those a new computation would give, and nothing else is kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi import Response
from fastapi.testclient import TestClient

from api.auth import digest
from api.buckets import to_ms
from api.deps import get_pinot
from api.main import create_app
from api.response_cache import ResponseCache
from core.settings import ApiKey, Settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot, Queryable
from query.serving import ServedTables
from tests.support.fake_pinot import FakePinot, Rows
from tests.unit.api.test_routes import NOW

URL = "/metrics/revenue?from=-30m"
MINUTE = to_ms(NOW) - to_ms(NOW) % 60_000 - 60_000  # a closed minute inside the range


class Clocks:
    """The query cache's and the response cache's monotonic clock (one), and the wall clock."""

    def __init__(self) -> None:
        self.mono = 100.0
        self.wall = NOW.timestamp()

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


class Broker:
    """Pinot's answers: revenue `amount` in MINUTE; counts the queries that reach it."""

    def __init__(self) -> None:
        self.amount = 12.5
        self.queries = 0

    def rows(self, sql: str) -> Rows:
        self.queries += 1
        fake = FakePinot(
            answer=lambda s: (
                [{"bucket": MINUTE, "revenue": self.amount, "orders": 1, "units": 1}]
                if "purchase" in s
                else []
            )
        )
        return fake.rows(sql)


def caching_client(settings: Settings, broker: Broker, clocks: Clocks, ttl_s: float) -> Pinot:
    pinot = Pinot(settings, cache=QueryCache(ttl_s=ttl_s, timer=lambda: clocks.mono))
    pinot._query = broker.rows  # type: ignore[method-assign]
    return pinot


@contextmanager
def api(
    settings: Settings, pinot: Queryable, clocks: Clocks, lookups: list[bool]
) -> Iterator[tuple[Any, TestClient]]:
    """The API with `pinot` for Pinot and a response cache on `clocks`; no override of the clock: a
    request's `now` is the response cache's second (api.deps.PINNED)."""
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: pinot
    with TestClient(app) as client:
        app.state.responses = ResponseCache(
            on_lookup=lookups.append, clock=lambda: clocks.mono, wall=lambda: clocks.wall
        )
        yield app, client


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(port_offset=31000, run_dir=tmp_path)


def _revenue(body: dict[str, Any]) -> list[float]:
    return [p["revenue"] for p in body["data"] if p["revenue"]]


def test_the_same_url_in_the_same_second_gets_the_bytes_computed_from_the_cache(settings: Settings) -> None:
    clocks, broker = Clocks(), Broker()
    lookups: list[bool] = []
    pinot = caching_client(settings, broker, clocks, ttl_s=60)
    with api(settings, pinot, clocks, lookups) as (_, client):
        first = client.get(URL)  # Pinot asked, in a worker thread: not kept
        second = client.get(URL)  # computed on the loop from the query cache: kept
        third = client.get(URL)
        assert [r.status_code for r in (first, second, third)] == [200, 200, 200]
        assert lookups == [False, False, True]
        assert third.content == second.content  # the very bytes, query_ms included
        assert third.headers["content-type"] == "application/json"
        assert int(third.headers["content-length"]) == len(third.content)
        assert _revenue(third.json()) == [12.5]
        client.get("/metrics/revenue?from=-45m")  # another URL: its own entry
        assert lookups[-1] is False


def _without_timing(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "meta": {k: v for k, v in body["meta"].items() if k != "query_ms"}}


def test_a_kept_answer_is_what_computing_it_again_in_that_second_gives(settings: Settings) -> None:
    # The first request of a minute's first second, at its very first millisecond: the minute that
    # opened is in the range, for that request and for every later one of the second.
    clocks, broker = Clocks(), Broker()
    lookups: list[bool] = []
    opened = (int(clocks.wall) // 60 + 1) * 60
    clocks.wall = float(opened)
    pinot = caching_client(settings, broker, clocks, ttl_s=60)
    absolute = "/metrics/revenue?from=2026-11-29T11:30:00Z"
    with api(settings, pinot, clocks, lookups) as (_, client):
        client.get(absolute)  # fills the query cache, in a worker thread
        kept = client.get(absolute).json()
        clocks.advance(0.5)
        hit = client.get(absolute).json()
        assert lookups == [False, False, True]
        computed = client.get(absolute + "&tz=UTC").json()  # the same question, another key: computed now
        assert lookups[-1] is False
    assert hit == kept
    assert _without_timing(computed) == _without_timing(hit)
    assert hit["meta"]["to"] == datetime.fromtimestamp(opened + 60, UTC).isoformat().replace("+00:00", "Z")


def test_a_new_second_computes_the_answer_again(settings: Settings) -> None:
    clocks, broker = Clocks(), Broker()
    lookups: list[bool] = []
    clocks.wall = int(clocks.wall) + 0.99  # the end of a second
    pinot = caching_client(settings, broker, clocks, ttl_s=60)
    with api(settings, pinot, clocks, lookups) as (_, client):
        client.get(URL)
        client.get(URL)
        assert client.get(URL).status_code == 200
        assert lookups == [False, False, True]
        clocks.advance(0.02)  # the next second: `now` may be in another bucket
        client.get(URL)
        assert lookups[-1] is False


def test_a_response_is_kept_only_until_its_query_answers_are_due_for_their_refresh(
    settings: Settings,
) -> None:
    # TTL 0.8 s: an answer is refreshed (and a new one can appear) from 0.6 s after Pinot gave it.
    clocks, broker = Clocks(), Broker()
    lookups: list[bool] = []
    clocks.wall = float(int(clocks.wall))  # the start of a second: the whole test stays in it
    pinot = caching_client(settings, broker, clocks, ttl_s=0.8)
    with api(settings, pinot, clocks, lookups) as (_, client):
        client.get(URL)
        client.get(URL)
        broker.amount = 99.0  # a late purchase lands in Pinot
        clocks.advance(0.5)
        assert _revenue(client.get(URL).json()) == [12.5]  # the query cache would give the same
        assert lookups == [False, False, True]
        clocks.advance(0.15)  # 0.65 s: the query answers are due for their refresh
        client.get(URL)
        assert lookups[-1] is False  # computed again, not served whole


def test_a_client_without_a_query_cache_is_never_answered_from_the_response_cache(
    settings: Settings,
) -> None:
    clocks = Clocks()
    lookups: list[bool] = []
    fake = FakePinot()
    with api(settings, fake, clocks, lookups) as (_, client):
        for _ in range(3):
            assert client.get(URL).status_code == 200
        assert lookups == [False, False, False]
        assert len(fake.queries("purchase")) == 3


def test_a_switch_of_the_served_tables_is_a_new_key(settings: Settings) -> None:
    clocks, broker = Clocks(), Broker()
    lookups: list[bool] = []
    pinot = caching_client(settings, broker, clocks, ttl_s=60)
    with api(settings, pinot, clocks, lookups) as (app, client):
        client.get(URL)
        client.get(URL)
        app.state.tables = ServedTables(fixed=Tables(events="events_g1", active_users="active_users_g1"))
        client.get(URL)
        assert lookups == [False, False, False]


def test_requests_that_need_a_key_run_their_check_and_route_every_time(tmp_path: Path) -> None:
    key = "rta_reader-key"
    settings = Settings(
        port_offset=31000,
        run_dir=tmp_path,
        api_auth="on",
        api_keys=(ApiKey(name="r", sha256=digest(key), scopes=("metrics",), rate_per_s=0.5, burst=2),),
    )
    clocks, broker = Clocks(), Broker()
    lookups: list[bool] = []
    pinot = caching_client(settings, broker, clocks, ttl_s=60)
    with api(settings, pinot, clocks, lookups) as (_, client):
        statuses = [client.get(URL, headers={"X-API-Key": key}).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]  # the rate limit counts every request
        assert client.get(URL).status_code == 401
        assert lookups == []


def test_only_whole_200_answers_are_kept() -> None:
    now = [0.0]
    cache = ResponseCache(clock=lambda: now[0], wall=lambda: 0.0)
    key = ("/metrics/x", b"", 0, Tables())
    cache.put(key, Response(b"{}", status_code=404, media_type="application/json"), 1.0)
    assert cache.get(key) is None
    cache.put(key, Response(b"{}", media_type="application/json"), 0.0)  # inputs already due
    assert cache.get(key) is None
    cache.put(key, Response(b'{"a":1}', media_type="application/json"), 5.0)
    hit = cache.get(key)
    assert hit is not None
    assert hit.body == b'{"a":1}'
    now[0] = 1.0  # kept one second at most, whatever the inputs allow
    assert cache.get(key) is None


def test_large_bodies_and_cookies_are_not_kept() -> None:
    cache = ResponseCache(max_bytes=10_000, max_body=1_000, clock=lambda: 0.0, wall=lambda: 0.0)
    key = ("/metrics/x", b"", 0, Tables())
    cache.put(key, Response(b"x" * 1_001, media_type="application/json"), 1.0)
    assert cache.get(key) is None
    cookie = Response(b"{}", media_type="application/json")
    cookie.set_cookie("k", "v")
    cache.put(key, cookie, 1.0)
    assert cache.get(key) is None
    for i in range(20):  # 20 bodies of 1,000 bytes in a 10,000-byte budget: the oldest go
        cache.put(("/metrics/x", str(i).encode(), 0, Tables()), Response(b"y" * 1_000), 1.0)
    assert cache.get(("/metrics/x", b"19", 0, Tables())) is not None
    assert cache.get(("/metrics/x", b"0", 0, Tables())) is None
