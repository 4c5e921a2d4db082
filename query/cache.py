"""A short-lived cache of Pinot answers keyed by the exact SQL, for the API under load.

The API's time ranges are aligned to their buckets, so the same question within a bucket is the same
SQL; many clients polling a dashboard then cost one Pinot query per `ttl_s` instead of one each.
Concurrent misses for the same SQL wait for the one query in flight (no stampede at expiry). An answer
is served for at most `ttl_s` after Pinot gave it; `meta.as_of` in each response says how fresh the
data is.

Refresh-ahead: an answer read when it is older than `refresh_after` of its life is queried again in a
background thread while it is still served. A question asked steadily then never expires, so no
request waits for Pinot, as long as the query takes less than the rest of the answer's life. The cost
is more queries for such a question: one per `refresh_after * ttl_s` plus the query's time, instead of
one per `ttl_s` plus the query's time. An answer whose refresh is late expires all the same, and the
next request waits for the refresh in flight, as on a first miss. A refresh that fails is not tried
again for that answer: it expires, and the next request asks Pinot and sees the error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cachetools import TTLCache

Rows = list[dict[str, Any]]
log = logging.getLogger(__name__)


class QueryCache:
    def __init__(
        self,
        ttl_s: float,
        maxsize: int = 4096,
        timer: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
        refresh_after: float = 0.75,
        refresh_threads: int = 2,
    ) -> None:
        self._on_lookup = on_lookup  # told hit (True) or miss (False) for each lookup: the API counts them
        self._timer = timer
        self._refresh_age = ttl_s * refresh_after
        # sql -> (rows, when Pinot's answer was stored, by `timer`); the TTL runs from the same moment
        self._answers: TTLCache[str, tuple[Rows, float]] = TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer)
        self._lock = threading.Lock()
        self._in_flight: dict[str, threading.Lock] = {}
        self._refreshing: set[str] = set()
        # sql -> the stored time of the answer whose refresh failed: not refreshed again
        self._failed: TTLCache[str, float] = TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer)
        self._refresher = ThreadPoolExecutor(refresh_threads, thread_name_prefix="query-cache-refresh")

    def close(self) -> None:
        """Stop refreshing (refreshes already running finish on their own)."""
        self._refresher.shutdown(wait=False, cancel_futures=True)

    def now(self) -> float:
        """The cache's clock (seconds, monotonic): the scale of `lookup`'s `fresh_until`."""
        return self._timer()

    def get(self, sql: str, run: Callable[[], Rows] | None = None) -> Rows | None:
        """The cached answer to `sql` (a copy), or None, without asking anyone and without counting the
        lookup (see `count_hits`). With `run`, an answer due for its refresh is refreshed in the
        background."""
        found = self.lookup(sql, run)
        return None if found is None else found[0]

    def lookup(self, sql: str, run: Callable[[], Rows] | None = None) -> tuple[Rows, float] | None:
        """`get`, with the moment (by `now()`) the answer becomes due for its refresh: until then it is
        what any reader of `sql` gets, so a result computed from it may be reused that long."""
        with self._lock:
            entry = self._answers.get(sql)
            if entry is None:
                return None
            rows, stored = entry
            if (
                run is not None
                and self._timer() - stored >= self._refresh_age
                and sql not in self._refreshing
                and sql not in self._in_flight
                and self._failed.get(sql) != stored
            ):
                self._refreshing.add(sql)
                try:
                    self._refresher.submit(self._refresh, sql, run, stored)
                except RuntimeError:  # closed: the answer simply expires
                    self._refreshing.discard(sql)
        return [dict(r) for r in rows], stored + self._refresh_age  # callers may edit their copy

    def _refresh(self, sql: str, run: Callable[[], Rows], replacing: float) -> None:
        try:
            self._fill(sql, run, newer_than=replacing)
        except Exception as exc:  # the answer expires; the next request asks Pinot and sees the error
            log.debug("refresh of a cached answer failed: %s", exc)
            with self._lock:
                self._failed[sql] = replacing
        finally:
            with self._lock:
                self._refreshing.discard(sql)

    def count_hits(self, hits: int) -> None:
        """Count `hits` lookups answered by `get` (the API counts them once the answers are used)."""
        if self._on_lookup is not None:
            for _ in range(hits):
                self._on_lookup(True)

    def rows(self, sql: str, run: Callable[[], Rows]) -> Rows:
        cached = self.get(sql, run)
        if self._on_lookup is not None:
            self._on_lookup(cached is not None)
        if cached is not None:
            return cached
        return [dict(r) for r in self._fill(sql, run)]

    def _fill(self, sql: str, run: Callable[[], Rows], newer_than: float | None = None) -> Rows:
        """The answer to `sql`: one query per SQL at a time; a caller arriving meanwhile waits for it.
        A refresh passes `newer_than`, the stored time of the answer it replaces, which does not count."""
        with self._lock:
            flight = self._in_flight.setdefault(sql, threading.Lock())
        with flight:
            with self._lock:
                entry = self._answers.get(sql)
                # answered while this thread waited for the query in flight
                if entry is not None and (newer_than is None or entry[1] > newer_than):
                    return entry[0]
            try:
                rows = run()
                with self._lock:
                    # before the flight ends: a newcomer finds it
                    self._answers[sql] = (rows, self._timer())
            finally:
                with self._lock:
                    self._in_flight.pop(sql, None)
            return rows
