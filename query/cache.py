"""A short-lived cache of Pinot answers keyed by the exact SQL, for the API under load.

The API's time ranges are aligned to their buckets, so the same question within a bucket is the same
SQL; many clients polling a dashboard then cost one Pinot query per `ttl_s` instead of one each.
Concurrent misses for the same SQL wait for the one query in flight (no stampede at expiry). Answers
are at most `ttl_s` old; `meta.as_of` in each response says how fresh the data is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

Rows = list[dict[str, Any]]


class QueryCache:
    def __init__(
        self,
        ttl_s: float,
        maxsize: int = 4096,
        timer: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self._on_lookup = on_lookup  # told hit (True) or miss (False) for each lookup: the API counts them
        self._answers: TTLCache[str, Rows] = TTLCache(maxsize=maxsize, ttl=ttl_s, timer=timer)
        self._lock = threading.Lock()
        self._in_flight: dict[str, threading.Lock] = {}

    def _cached(self, sql: str) -> Rows | None:
        with self._lock:
            rows = self._answers.get(sql)
        return None if rows is None else [dict(r) for r in rows]  # callers may edit their copy

    def rows(self, sql: str, run: Callable[[], Rows]) -> Rows:
        cached = self._cached(sql)
        if self._on_lookup is not None:
            self._on_lookup(cached is not None)
        if cached is not None:
            return cached
        with self._lock:
            flight = self._in_flight.setdefault(sql, threading.Lock())
        with flight:
            cached = self._cached(sql)  # answered while this thread waited for the query in flight
            if cached is not None:
                return cached
            try:
                rows = run()
                with self._lock:
                    self._answers[sql] = rows  # before the flight ends: a newcomer finds the answer
            finally:
                with self._lock:
                    self._in_flight.pop(sql, None)
            return [dict(r) for r in rows]
