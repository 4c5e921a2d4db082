"""Routes answer cached queries on the event loop and take the thread pool only for a miss, with the same
answer either way (api/cache_first.py)."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

import api.cache_first
import api.routers
from api.buckets import to_ms
from api.cache_first import CacheFirstRoute, cache_first
from api.deps import Context, get_now, get_pinot
from api.main import create_app
from core.settings import Settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot
from tests.support.fake_pinot import FakePinot, Rows
from tests.unit.api.test_routes import NOW


class Hops:
    """Counts the endpoint runs that went to the thread pool."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await run_in_threadpool(*args, **kwargs)

        monkeypatch.setattr(api.cache_first, "run_in_threadpool", counted)


def caching_pinot(
    settings: Settings, answer: FakePinot, on_loop: list[bool], lookups: list[bool] | None = None
) -> Pinot:
    """The API's real client and cache, with `answer` in place of the broker; `on_loop` gets, for each
    query sent, whether it ran on a thread with a running event loop."""
    pinot = Pinot(
        settings, cache=QueryCache(ttl_s=600, on_lookup=None if lookups is None else lookups.append)
    )

    def query(sql: str) -> Rows:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return answer.rows(sql)

    pinot._query = query  # type: ignore[method-assign]
    return pinot


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(port_offset=31000, run_dir=tmp_path)


def test_a_cached_answer_is_served_on_the_event_loop_and_equals_the_first(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[bool] = []
    hops = Hops(monkeypatch)
    minute = to_ms(NOW) - to_ms(NOW) % 60_000 - 60_000  # the last closed minute, in any 30-min range

    def revenue(sql: str) -> Rows:
        return [{"bucket": minute, "revenue": 12.5, "orders": 2, "units": 3}] if "purchase" in sql else []

    pinot = caching_pinot(settings, FakePinot(answer=revenue), on_loop)
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: pinot
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client:
        first = client.get("/metrics/revenue", params={"from": "-30m"})
        assert first.status_code == 200, first.text
        assert hops.count == 1
        queried = len(on_loop)
        assert queried >= 2  # the route's query and the freshness probe
        assert not any(on_loop)  # both in a worker thread
        second = client.get("/metrics/revenue", params={"from": "-30m"})
        assert second.status_code == 200
        assert (hops.count, len(on_loop)) == (1, queried)  # no hop, no query
        other = client.get("/metrics/revenue", params={"from": "-45m"})  # another range: a miss
        assert other.status_code == 200
        assert hops.count == 2

    def without_timing(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "meta": {k: v for k, v in body["meta"].items() if k != "query_ms"}}

    assert without_timing(second.json()) == without_timing(first.json())
    assert [p["revenue"] for p in first.json()["data"] if p["revenue"]] == [12.5]


def _context(settings: Settings, pinot: Pinot) -> Context:
    return Context(pinot, Tables(), settings)


def test_a_partly_cached_route_runs_again_whole_in_the_thread_pool_and_counts_each_lookup_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops = Hops(monkeypatch)
    lookups: list[bool] = []
    pinot = caching_pinot(settings, FakePinot(answer=lambda sql: [{"sql": sql}]), [], lookups)
    pinot.rows("SELECT a")  # cached; "SELECT b" is not
    lookups.clear()

    def endpoint(ctx: Context) -> list[Any]:
        return [ctx.pinot.rows("SELECT a"), ctx.pinot.rows("SELECT b")]

    answer = asyncio.run(cache_first(endpoint)(ctx=_context(settings, pinot)))
    assert answer == [[{"sql": "SELECT a"}], [{"sql": "SELECT b"}]]
    assert hops.count == 1
    assert lookups == [True, False]  # counted by the thread's run only: a hit, then a miss
    again = asyncio.run(cache_first(endpoint)(ctx=_context(settings, pinot)))
    assert again == answer
    assert hops.count == 1  # all cached now: on the loop
    assert lookups == [True, False, True, True]


def test_a_broad_except_in_a_route_cannot_turn_a_miss_into_an_answer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops = Hops(monkeypatch)
    pinot = caching_pinot(settings, FakePinot(answer=lambda sql: [{"n": 7}]), [])

    def endpoint(ctx: Context) -> int:
        try:
            return int(ctx.pinot.rows("SELECT n")[0]["n"])
        except Exception:  # a route's own fallback must not see the cache-only attempt's miss
            return -1

    assert asyncio.run(cache_first(endpoint)(ctx=_context(settings, pinot))) == 7
    assert hops.count == 1


def test_a_client_without_a_cache_always_takes_the_thread_pool(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    hops = Hops(monkeypatch)
    fake = FakePinot(answer=lambda sql: [{"n": 1}])
    ctx = Context(fake, Tables(), settings)
    for _ in range(2):
        assert asyncio.run(cache_first(lambda ctx: ctx.pinot.rows("SELECT n"))(ctx=ctx)) == [{"n": 1}]
    assert hops.count == 2
    assert len(fake.sent) == 2


def _cache_first_routes() -> list[str]:
    paths = []
    for info in pkgutil.iter_modules(api.routers.__path__):
        module = importlib.import_module(f"api.routers.{info.name}")
        for router in (getattr(module, "router", None), getattr(module, "letters", None)):
            for route in router.routes if router is not None else []:
                if isinstance(route, CacheFirstRoute) and "GET" in (route.methods or set()):
                    paths.append(route.path)
    return paths


def test_the_metric_routers_answer_from_the_event_loop() -> None:
    paths = _cache_first_routes()
    assert "/metrics/active-users" in paths
    assert "/metrics/sessions/{session_id}" in paths
    assert "/metrics/retention" not in paths  # large answers: plain routes, in the thread pool
    assert "/metrics/dead-letters" not in paths


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, TestClient]]:
    app = create_app(Settings(port_offset=31000, run_dir=tmp_path_factory.mktemp("run")))
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client:
        yield app, client


def _empty(sql: str) -> Rows:
    """Pinot's answer over empty tables: a total count is still one row."""
    return [{"n": 0}] if "COUNT(*) AS n" in sql and "GROUP BY" not in sql else []


@pytest.mark.parametrize("path", _cache_first_routes())
def test_every_cache_first_route_answers_the_same_from_the_cache_without_a_hop(
    path: str,
    settings: Settings,
    shared_app: tuple[FastAPI, TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, client = shared_app
    hops = Hops(monkeypatch)
    pinot = caching_pinot(settings, FakePinot(answer=_empty), [])  # a fresh, empty cache
    app.dependency_overrides[get_pinot] = lambda: pinot
    url = path.replace("{product_id}", "p-00001").replace("{session_id}", "s-1")
    first = client.get(url)
    hops_after_first = hops.count
    second = client.get(url)
    assert first.status_code in (200, 404), first.text
    assert hops_after_first == 1
    assert hops.count == 1  # the second answer came from the cache, on the event loop
    assert second.status_code == first.status_code
    body, again = first.json(), second.json()
    for b in (body, again):
        if isinstance(b, dict) and isinstance(b.get("meta"), dict):
            b["meta"].pop("query_ms", None)
    assert again == body
