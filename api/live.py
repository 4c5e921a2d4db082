"""The live push behind `/metrics/stream`: one computation per distinct filter set, shared by every client.

A feed starts with its first subscriber and stops with its last. Each tick it computes one snapshot (a
few Pinot queries, off the event loop) and hands it to every subscriber; a slow client only ever holds
the newest snapshot (a queue of one), so it never delays the others or grows memory. A new subscriber
gets the feed's latest snapshot at once. So N clients with the same filters cost one computation per
tick, not N.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio
import anyio.to_thread

log = logging.getLogger("rta.api.live")

K = TypeVar("K", bound=Hashable)
S = TypeVar("S")


class TooManyFeeds(Exception):
    """Every feed slot is taken by other filter sets (the API answers 503)."""


@dataclass(frozen=True)
class Failure:
    """A tick whose computation failed: pushed as such, so a client can say why numbers stopped."""

    error: Exception


class Subscription(Generic[S]):
    """One client's view of a feed: iterate for snapshots; `close()` when done. A subscription that is
    dropped without being closed (a client gone before its stream started) leaves the feed by itself:
    feeds hold subscriptions weakly."""

    def __init__(self, on_close: Callable[[Subscription[S]], None]) -> None:
        self.queue: asyncio.Queue[S | Failure] = asyncio.Queue(maxsize=1)
        self._on_close = on_close

    def offer(self, item: S | Failure) -> None:
        """Replace whatever the client has not read yet with the newest item."""
        with contextlib.suppress(asyncio.QueueEmpty):
            self.queue.get_nowait()
        self.queue.put_nowait(item)

    def __aiter__(self) -> Subscription[S]:
        return self

    async def __anext__(self) -> S | Failure:
        return await self.queue.get()

    def close(self) -> None:
        self._on_close(self)


@dataclass(eq=False)
class _Feed(Generic[S]):
    subscribers: weakref.WeakSet[Subscription[S]] = field(default_factory=weakref.WeakSet)
    latest: S | Failure | None = None  # a failure too: a newcomer must not see an old snapshot as live
    task: asyncio.Task[None] | None = None
    computations: int = 0


def _broadcast(feed: _Feed[S], item: S | Failure) -> None:
    for subscription in list(feed.subscribers):
        subscription.offer(item)


class LiveFeeds(Generic[K, S]):
    def __init__(
        self, compute: Callable[[K], S], interval_s: float, max_feeds: int, max_threads: int = 4
    ) -> None:
        self._compute = compute
        # Their own threads: slow ticks of many feeds never take the threads the other routes run on.
        self._threads = anyio.CapacityLimiter(max_threads)
        self._interval_s = interval_s
        self._max_feeds = max_feeds
        self._feeds: dict[K, _Feed[S]] = {}
        self.computations = 0
        """Snapshots computed since start (tests and benchmarks: sharing is measurable)."""

    @property
    def subscribers(self) -> int:
        return sum(len(f.subscribers) for f in self._feeds.values())

    @property
    def feeds(self) -> int:
        return len(self._feeds)

    def subscribe(self, key: K) -> Subscription[S]:
        """A subscription to `key`'s feed, started if needed; it holds the feed's latest snapshot at once.

        Raises TooManyFeeds when `key` would be one feed too many. Call from the event loop."""
        feed = self._feeds.get(key)
        if feed is None:
            if len(self._feeds) >= self._max_feeds:
                raise TooManyFeeds(f"{self._max_feeds} filter sets are streamed already; try again later")
            feed = self._feeds[key] = _Feed()
            feed.task = asyncio.get_running_loop().create_task(self._run(key, feed), name=f"live {key!r}")
        subscription: Subscription[S] = Subscription(lambda s: self._leave(key, feed, s))
        feed.subscribers.add(subscription)
        if feed.latest is not None:
            subscription.offer(feed.latest)
        return subscription

    def _leave(self, key: K, feed: _Feed[S], subscription: Subscription[S]) -> None:
        feed.subscribers.discard(subscription)
        if not feed.subscribers:
            self._stop(key, feed)

    def _stop(self, key: K, feed: _Feed[S]) -> None:
        if self._feeds.get(key) is feed:
            del self._feeds[key]
        if feed.task is not None and feed.task is not asyncio.current_task():
            feed.task.cancel()

    async def _run(self, key: K, feed: _Feed[S]) -> None:
        loop = asyncio.get_running_loop()
        while feed.subscribers:
            started = loop.time()
            item: S | Failure
            try:
                item = await anyio.to_thread.run_sync(self._compute, key, limiter=self._threads)
            except Exception as exc:  # a failed tick is pushed and retried next tick; the feed lives on
                log.warning("live feed %r: %s", key, exc)
                item = Failure(exc)
            feed.latest = item
            feed.computations += 1
            self.computations += 1
            _broadcast(feed, item)  # a function: no loop variable left holding a subscription alive
            await asyncio.sleep(max(0.0, self._interval_s - (loop.time() - started)))
        self._stop(key, feed)  # every subscription was dropped without close()

    async def close(self) -> None:
        tasks = [f.task for f in self._feeds.values() if f.task is not None]
        self._feeds.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
