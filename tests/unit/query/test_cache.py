from __future__ import annotations

import threading
import time
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
    cache = QueryCache(ttl_s=1.0, timer=clock, refresh_after=1.0)  # no refresh-ahead
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


def _settle(cache: QueryCache) -> None:
    """Wait until no refresh is queued or running."""
    deadline = time.monotonic() + 5
    while cache._refreshing:
        assert time.monotonic() < deadline, "a refresh did not finish"
        time.sleep(0.001)


def test_an_answer_read_late_in_its_life_is_refreshed_while_it_is_served() -> None:
    clock = Clock()
    cache = QueryCache(ttl_s=1.0, timer=clock)  # refreshed once 0.75 s old
    answers = iter([[{"v": 1}], [{"v": 2}]])
    threads: list[str] = []

    def run() -> Rows:
        threads.append(threading.current_thread().name)
        return next(answers)

    assert cache.rows("q", run) == [{"v": 1}]
    clock.now = 0.7
    assert cache.rows("q", run) == [{"v": 1}]
    _settle(cache)
    assert len(threads) == 1  # not due yet
    clock.now = 0.8
    assert cache.rows("q", run) == [{"v": 1}]  # served at once; the refresh runs beside it
    _settle(cache)
    assert len(threads) == 2
    assert threads[1].startswith("query-cache-refresh")
    clock.now = 1.3  # the first answer has expired; the refreshed one (stored at 0.8) has not
    assert cache.get("q") == [{"v": 2}]
    assert len(threads) == 2
    cache.close()


def test_an_answer_whose_refresh_is_late_expires_and_the_next_caller_waits_for_that_refresh() -> None:
    clock = Clock()
    cache = QueryCache(ttl_s=1.0, timer=clock)
    release = threading.Event()
    calls: list[int] = []

    def run() -> Rows:
        calls.append(1)
        if len(calls) == 2:  # the refresh: slower than the answer's remaining life
            assert release.wait(5)
        return [{"v": len(calls)}]

    cache.rows("q", run)
    clock.now = 0.8
    assert cache.rows("q", run) == [{"v": 1}]
    clock.now = 1.05  # expired, refresh still in flight: never served past its TTL
    assert cache.get("q") is None
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(cache.rows, "q", run)
        release.set()
        assert waiting.result(timeout=5) == [{"v": 2}]
    assert len(calls) == 2  # the caller took the refresh's answer rather than asking again
    cache.close()


def test_a_failed_refresh_is_not_retried_and_the_answer_expires() -> None:
    clock = Clock()
    cache = QueryCache(ttl_s=1.0, timer=clock)
    calls: list[int] = []

    def run() -> Rows:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("Pinot down")
        return [{"v": len(calls)}]

    cache.rows("q", run)
    clock.now = 0.8
    assert cache.rows("q", run) == [{"v": 1}]
    _settle(cache)
    assert len(calls) == 2
    clock.now = 0.9
    assert cache.rows("q", run) == [{"v": 1}]  # still within its life, and no second refresh
    _settle(cache)
    assert len(calls) == 2
    clock.now = 1.01
    assert cache.rows("q", run) == [{"v": 3}]  # expired: asked again, in the caller's thread
    cache.close()


def test_get_counts_nothing_and_count_hits_counts_what_was_used() -> None:
    seen: list[bool] = []
    cache = QueryCache(ttl_s=60, on_lookup=seen.append)
    assert cache.get("q") is None
    cache.rows("q", lambda: [{"v": 1}])
    assert cache.get("q") == [{"v": 1}]
    assert seen == [False]
    cache.count_hits(2)
    assert seen == [False, True, True]
