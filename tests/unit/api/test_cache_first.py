"""Routes answer cached queries on the event loop and take the thread pool only for a miss, with the same
answer either way (api/cache_first.py)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.concurrency import run_in_threadpool

import api.cache_first
from api.buckets import to_ms
from api.cache_first import cache_first
from api.deps import Context, get_now, get_pinot
from api.main import create_app
from core.settings import Settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot
from tests.unit.api.fake_pinot import FakePinot, Rows
from tests.unit.api.test_routes import NOW


class Hops:
    """Counts the endpoint runs that went to the thread pool."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await run_in_threadpool(*args, **kwargs)

        monkeypatch.setattr(api.cache_first, "run_in_threadpool", counted)


def caching_pinot(settings: Settings, answer: FakePinot, threads: list[str]) -> Pinot:
    """The API's real client and cache, with `answer` in place of the broker."""
    pinot = Pinot(settings, cache=QueryCache(ttl_s=600))

    def query(sql: str) -> Rows:
        threads.append(threading.current_thread().name)
        return answer.rows(sql)

    pinot._query = query  # type: ignore[method-assign]
    return pinot


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(port_offset=31000, run_dir=tmp_path)


def test_a_cached_answer_is_served_on_the_event_loop_and_equals_the_first(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    hops = Hops(monkeypatch)
    minute = to_ms(NOW) - to_ms(NOW) % 60_000 - 60_000  # the last closed minute, in any 30-min range

    def revenue(sql: str) -> Rows:
        return [{"bucket": minute, "revenue": 12.5, "orders": 2, "units": 3}] if "purchase" in sql else []

    pinot = caching_pinot(settings, FakePinot(answer=revenue), threads)
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: pinot
    app.dependency_overrides[get_now] = lambda: NOW
    with TestClient(app) as client:
        first = client.get("/metrics/revenue", params={"from": "-30m"})
        assert first.status_code == 200, first.text
        assert hops.count == 1
        queried = len(threads)
        assert queried >= 2
        assert threading.main_thread().name not in threads
        second = client.get("/metrics/revenue", params={"from": "-30m"})
        assert second.status_code == 200
        assert (hops.count, len(threads)) == (1, queried)  # no hop, no query
        other = client.get("/metrics/revenue", params={"from": "-45m"})  # another range: a miss
        assert other.status_code == 200
        assert hops.count == 2

    def without_timing(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "meta": {k: v for k, v in body["meta"].items() if k != "query_ms"}}

    assert without_timing(second.json()) == without_timing(first.json())
    assert [p["revenue"] for p in first.json()["data"] if p["revenue"]] == [12.5]


def _context(settings: Settings, pinot: Pinot) -> Context:
    return Context(pinot, Tables(), settings)


def test_a_partly_cached_route_runs_again_whole_in_the_thread_pool(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    hops = Hops(monkeypatch)
    pinot = caching_pinot(settings, FakePinot(answer=lambda sql: [{"sql": sql}]), threads)
    pinot.rows("SELECT a")  # cached; "SELECT b" is not

    def endpoint(ctx: Context) -> list[Any]:
        return [ctx.pinot.rows("SELECT a"), ctx.pinot.rows("SELECT b")]

    answer = asyncio.run(cache_first(endpoint)(ctx=_context(settings, pinot)))
    assert answer == [[{"sql": "SELECT a"}], [{"sql": "SELECT b"}]]
    assert hops.count == 1


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
