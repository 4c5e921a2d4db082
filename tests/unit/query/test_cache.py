from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from query.cache import QueryCache, Rows


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_same_sql_within_the_ttl_is_answered_once_and_expires_after() -> None:
    clock = Clock()
    cache = QueryCache(ttl_s=1.0, timer=clock)
    results = iter([[{"v": 1}], [{"v": 2}]])
    calls: list[int] = []

    def run() -> Rows:
        calls.append(1)
        return next(results)

    assert cache.rows("SELECT 1", run) == [{"v": 1}]
    clock.now = 0.9
    assert cache.rows("SELECT 1", run) == [{"v": 1}]
    assert len(calls) == 1
    clock.now = 1.1
    assert cache.rows("SELECT 1", run) == [{"v": 2}]
    assert len(calls) == 2


def test_different_sql_is_a_different_answer() -> None:
    cache = QueryCache(ttl_s=60)
    assert cache.rows("a", lambda: [{"v": 1}]) == [{"v": 1}]
    assert cache.rows("b", lambda: [{"v": 2}]) == [{"v": 2}]


def test_a_caller_editing_its_rows_does_not_change_the_next_answer() -> None:
    cache = QueryCache(ttl_s=60)
    first = cache.rows("a", lambda: [{"v": 1}])
    first[0]["v"] = 99
    assert cache.rows("a", lambda: [{"v": 2}]) == [{"v": 1}]


def test_concurrent_misses_share_one_query() -> None:
    cache = QueryCache(ttl_s=60)
    release = threading.Event()
    calls: list[int] = []

    def slow() -> Rows:
        calls.append(1)
        release.wait(5)
        return [{"v": 7}]

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(cache.rows, "SELECT slow", slow) for _ in range(8)]
        release.set()
        assert [f.result() for f in futures] == [[{"v": 7}]] * 8
    assert len(calls) == 1


def test_a_failed_query_is_not_cached() -> None:
    cache = QueryCache(ttl_s=60)

    def broken() -> Rows:
        raise RuntimeError("broker down")

    with pytest.raises(RuntimeError):
        cache.rows("a", broken)
    assert cache.rows("a", lambda: [{"v": 1}]) == [{"v": 1}]
