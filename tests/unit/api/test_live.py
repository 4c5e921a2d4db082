"""The live feeds: one computation per filter set shared by every subscriber, started by the first and
stopped by the last, a failure pushed and survived, a cap on distinct filter sets; and the snapshot
they push."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from api.buckets import to_ms
from api.deps import Context
from api.live import Failure, LiveFeeds, TooManyFeeds
from api.routers.live import snapshot
from core.settings import Settings
from query.analytics import Filters, Tables
from tests.support.fake_pinot import FakePinot


class Computer:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.fail = threading.Event()

    def __call__(self, key: str) -> str:
        self.calls[key] += 1
        if self.fail.is_set():
            raise RuntimeError("Pinot is down")
        return f"{key}#{self.calls[key]}"


async def _next(subscription: object) -> object:
    return await asyncio.wait_for(anext(subscription), timeout=5)  # type: ignore[call-overload]


def test_subscribers_of_one_key_share_each_computation() -> None:
    async def run() -> None:
        compute = Computer()
        feeds: LiveFeeds[str, str] = LiveFeeds(compute, interval_s=0.05, max_feeds=4)
        subs = [feeds.subscribe("all") for _ in range(50)]
        firsts = [await _next(s) for s in subs]
        assert len(set(firsts)) <= 2  # all got the same snapshot (or the next one, if a tick passed)
        for _ in range(3):
            await asyncio.gather(*(_next(s) for s in subs))
        assert feeds.feeds == 1
        assert feeds.subscribers == 50
        # 50 subscribers over >= 4 ticks: computations track ticks, not subscribers
        assert 4 <= compute.calls["all"] <= 10
        for s in subs:
            s.close()
        assert feeds.feeds == 0
        assert feeds.subscribers == 0
        await feeds.close()

    asyncio.run(run())


def test_a_new_subscriber_gets_the_latest_snapshot_at_once_and_keys_are_separate() -> None:
    async def run() -> None:
        compute = Computer()
        feeds: LiveFeeds[str, str] = LiveFeeds(compute, interval_s=30, max_feeds=4)
        first = feeds.subscribe("mobile")
        assert await _next(first) == "mobile#1"
        late = feeds.subscribe("mobile")
        assert late.queue.get_nowait() == "mobile#1"  # no wait for the next tick (30 s away)
        other = feeds.subscribe("desktop")
        assert await _next(other) == "desktop#1"
        assert compute.calls == Counter({"mobile": 1, "desktop": 1})
        for s in (first, late, other):
            s.close()
        await feeds.close()

    asyncio.run(run())


def test_a_slow_subscriber_holds_only_the_newest_snapshot() -> None:
    async def run() -> None:
        compute = Computer()
        feeds: LiveFeeds[str, str] = LiveFeeds(compute, interval_s=0.02, max_feeds=1)
        slow = feeds.subscribe("k")
        while compute.calls["k"] < 10:
            await asyncio.sleep(0.02)
        assert slow.queue.qsize() == 1
        got = slow.queue.get_nowait()
        assert int(str(got).split("#")[1]) >= 9  # a recent one, not the first
        slow.close()
        await feeds.close()

    asyncio.run(run())


def test_a_failed_tick_is_pushed_and_the_feed_recovers() -> None:
    async def run() -> None:
        compute = Computer()
        feeds: LiveFeeds[str, str] = LiveFeeds(compute, interval_s=0.02, max_feeds=1)
        sub = feeds.subscribe("k")
        await _next(sub)
        compute.fail.set()
        while not isinstance(item := await _next(sub), Failure):
            pass
        assert "Pinot is down" in str(item.error)
        compute.fail.clear()
        while isinstance(item := await _next(sub), Failure):
            pass
        assert str(item).startswith("k#")
        sub.close()
        await feeds.close()

    asyncio.run(run())


def test_one_filter_set_too_many_is_refused_until_a_feed_ends() -> None:
    async def run() -> None:
        feeds: LiveFeeds[str, str] = LiveFeeds(Computer(), interval_s=1, max_feeds=2)
        a, b = feeds.subscribe("a"), feeds.subscribe("b")
        again = feeds.subscribe("a")  # an existing feed is not a new one
        with pytest.raises(TooManyFeeds):
            feeds.subscribe("c")
        a.close()
        again.close()
        c = feeds.subscribe("c")
        assert feeds.feeds == 2
        b.close()
        c.close()
        await feeds.close()

    asyncio.run(run())


def test_a_subscription_dropped_without_close_ends_its_feed() -> None:
    async def run() -> None:
        compute = Computer()
        feeds: LiveFeeds[str, str] = LiveFeeds(compute, interval_s=0.02, max_feeds=1)
        sub = feeds.subscribe("k")
        await _next(sub)
        del sub  # a client gone before its stream started: nobody calls close()
        gc.collect()
        for _ in range(100):
            if feeds.feeds == 0:
                break
            await asyncio.sleep(0.02)
        assert feeds.feeds == 0
        calls = compute.calls["k"]
        await asyncio.sleep(0.1)
        assert compute.calls["k"] == calls  # nothing computes for nobody
        await feeds.close()

    asyncio.run(run())


def test_a_new_subscriber_during_an_outage_sees_the_failure_not_an_old_snapshot() -> None:
    async def run() -> None:
        compute = Computer()
        feeds: LiveFeeds[str, str] = LiveFeeds(compute, interval_s=0.02, max_feeds=1)
        first = feeds.subscribe("k")
        await _next(first)
        compute.fail.set()
        while not isinstance(await _next(first), Failure):
            pass
        newcomer = feeds.subscribe("k")
        assert isinstance(newcomer.queue.get_nowait(), Failure)
        first.close()
        newcomer.close()
        await feeds.close()

    asyncio.run(run())


def test_a_snapshot_marks_final_minutes_and_fills_quiet_ones() -> None:
    now = datetime(2026, 11, 29, 12, 0, 30, tzinfo=UTC)
    minute = 60_000
    m1159 = to_ms(datetime(2026, 11, 29, 11, 59, tzinfo=UTC))

    def answer(sql: str) -> list[dict[str, Any]]:
        if "FROM active_users" in sql:
            return [{"bucket": m1159, "active_users": 3, "sessions": 2, "events": 7}]
        if "AS page_view" in sql:
            row = {"page_view": 4, "product_view": 2, "add_to_cart": 1, "purchase": 0, "events": 7}
            return [{"bucket": float(m1159), **row}, {"bucket": float(m1159 + minute), **row, "events": 1}]
        if "DISTINCTCOUNT(order_id)" in sql:
            return [{"bucket": float(m1159), "revenue": 12.5, "orders": 1, "units": 2}]
        if "AS accepted" in sql:
            return [{"bucket": float(m1159), "accepted": 7, "late": 1}]
        if "AS dead_lettered" in sql:
            return [{"bucket": float(m1159 + minute), "dead_lettered": 2}]
        return []

    fake = FakePinot(answer=answer, newest_event_ms=to_ms(now) - 10_000)  # 12:00:20
    ctx = Context(fake, Tables(), Settings(port_offset=31000, api_live_minutes=5))  # type: ignore[arg-type]
    snap = snapshot(ctx, Filters(), now)
    assert [p.bucket for p in snap.data] == [
        datetime(2026, 11, 29, 11, m, tzinfo=UTC) for m in (56, 57, 58, 59)
    ] + [datetime(2026, 11, 29, 12, 0, tzinfo=UTC)]
    assert snap.as_of == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)  # 12:00:20 - 5 s watermark delay
    assert snap.behind_s == 30.0
    assert [p.final for p in snap.data] == [True, True, True, True, False]
    quiet, busy, newest = snap.data[0], snap.data[3], snap.data[4]
    assert quiet.model_dump(exclude={"bucket", "final"}) == {
        k: 0 for k in quiet.model_dump(exclude={"bucket", "final"})
    }
    assert (busy.active_users, busy.events, busy.page_view, busy.revenue, busy.orders) == (3, 7, 4, 12.5, 1)
    assert (busy.accepted, busy.late, busy.dead_lettered) == (7, 1, 0)
    assert (newest.events, newest.dead_lettered, newest.active_users) == (1, 2, 0)
