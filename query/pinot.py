"""A small Pinot client (pinotdb over the broker) returning typed rows."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol, TypeVar

import httpx
import pinotdb
import pinotdb.exceptions
from pydantic import BaseModel

from core.datasets import ACTIVE_USERS, PRODUCT_METRICS, SESSION_METRICS
from core.metrics import ActiveUsersMinute, ProductMinute, SessionSummary
from core.settings import Settings
from query.cache import QueryCache
from query.sql import Value, bind, identifier

Row = TypeVar("Row", bound=BaseModel)

# Pinot error codes that mean "not now" rather than "not this query": table or broker resource missing,
# server or segments unavailable, scheduling or execution timeout, too many requests.
UNAVAILABLE_CODES = frozenset({190, 210, 211, 220, 230, 240, 250, 305, 410, 420, 425, 427, 429})
_CODE = re.compile(r"""['"]errorCode['"]\s*:\s*(\d+)""")


class Queryable(Protocol):
    """What the query layer needs of a Pinot client (tests pass a fake)."""

    def rows(self, sql: str, params: Mapping[str, Value] | None = None) -> list[dict[str, Any]]: ...


class PinotError(Exception):
    """Pinot did not answer a query. `detail` is Pinot's own text (for logs only: it may carry SQL and
    Java stack traces, never shown to API clients)."""

    def __init__(self, summary: str, detail: str, codes: frozenset[int] = frozenset()) -> None:
        self.detail = detail
        self.codes = codes
        super().__init__(summary)


class PinotUnavailable(PinotError):
    """Unreachable, or cannot serve the table right now (missing, segments unavailable, timed out): retry."""


class PinotQueryFailed(PinotError):
    """Pinot rejected or failed the query itself: a bug in the query layer."""


def _error_codes(cursor: Any, exc: Exception) -> frozenset[int]:
    codes: set[int] = set()
    raw = getattr(cursor, "raw_query_response", None)
    payload = raw.get("response") if isinstance(raw, dict) else None
    if isinstance(payload, dict):
        for e in payload.get("exceptions") or []:
            if isinstance(e, dict) and isinstance(e.get("errorCode"), int):
                codes.add(e["errorCode"])
    codes.update(int(c) for c in _CODE.findall(str(exc)))
    return frozenset(codes)


def classify(cursor: Any, exc: Exception) -> PinotError:
    """Our error for what pinotdb (or the HTTP client under it) raised."""
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.TransportError):
        return PinotUnavailable("the Pinot broker is unreachable", detail)
    codes = _error_codes(cursor, exc)
    raw = getattr(cursor, "raw_query_response", None)
    status = raw.get("status_code") if isinstance(raw, dict) else None
    if codes & UNAVAILABLE_CODES or "timed out" in str(exc) or (isinstance(status, int) and status >= 500):
        return PinotUnavailable("Pinot cannot serve this table right now", detail, codes)
    return PinotQueryFailed("Pinot could not answer the query", detail, codes)


QueryObserver = Callable[[float, str], None]
"""Told of each query sent to Pinot: its duration in seconds and its outcome ('ok', 'unavailable',
'failed'); the API counts them for Prometheus."""


class Pinot:
    def __init__(
        self,
        settings: Settings,
        timeout_s: float = 10.0,
        cache: QueryCache | None = None,
        observe: QueryObserver | None = None,
    ) -> None:
        self._cache = cache
        self._observe = observe
        self._connection = pinotdb.connect(
            host=settings.pinot_broker_host or settings.host,
            port=settings.port(settings.pinot_broker_port),
            path="/query/sql",
            scheme="http",
            timeout=timeout_s,
        )

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Pinot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def rows(self, sql: str, params: Mapping[str, Value] | None = None) -> list[dict[str, Any]]:
        bound = bind(sql, params or {})
        if self._cache is None:
            return self._query(bound)
        return self._cache.rows(bound, lambda: self._query(bound))

    @property
    def caching(self) -> bool:
        return self._cache is not None

    def cached(
        self, sql: str, params: Mapping[str, Value] | None = None
    ) -> tuple[list[dict[str, Any]], float] | None:
        """The cached answer to the query and the moment (`cache_now()`'s clock) it becomes due for its
        refresh, or None (no cache, or not in it); never waits for Pinot (an answer due for its refresh
        is refreshed in the background). Not counted as a lookup: the caller counts the hits it used
        with `count_cache_hits`."""
        if self._cache is None:
            return None
        bound = bind(sql, params or {})
        return self._cache.lookup(bound, lambda: self._query(bound))

    def cache_now(self) -> float:
        """The query cache's clock (seconds, monotonic); 0 without a cache."""
        return self._cache.now() if self._cache is not None else 0.0

    def count_cache_hits(self, hits: int) -> None:
        if self._cache is not None:
            self._cache.count_hits(hits)

    def _query(self, sql: str) -> list[dict[str, Any]]:
        """Rows of one query; raises PinotUnavailable or PinotQueryFailed (never pinotdb's own errors)."""
        cursor = self._connection.cursor()
        started, outcome = time.perf_counter(), "ok"
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except (httpx.HTTPError, pinotdb.exceptions.Error) as exc:
            error = classify(cursor, exc)
            outcome = "unavailable" if isinstance(error, PinotUnavailable) else "failed"
            raise error from exc
        finally:
            if self._observe is not None:
                self._observe(time.perf_counter() - started, outcome)

    def typed(
        self, model: type[Row], table: str, sql_tail: str, params: Mapping[str, Value] | None = None
    ) -> list[Row]:
        columns = ", ".join(identifier(name) for name in model.model_fields)
        sql = f"SELECT {columns} FROM {identifier(table)} {sql_tail}"
        return [model.model_validate(row) for row in self.rows(sql, params)]


class CacheMiss(BaseException):
    """A query that CacheOnly could not answer. A BaseException, like asyncio's CancelledError, so that no
    `except Exception` on the way can mistake it for an error to answer."""


class CacheOnly:
    """A Queryable that answers what `pinot`'s cache holds now and raises CacheMiss for anything else: the
    API runs a route with it on the event loop first, and only a miss goes to a worker thread. An answer
    of more than `max_rows` rows counts as a miss too: the work a route does per row would hold up the
    event loop, where a worker thread shares the CPU with it."""

    def __init__(self, pinot: Pinot, max_rows: int = 2000) -> None:
        self.pinot = pinot
        self.max_rows = max_rows
        self.answered = 0
        self.fresh_until = math.inf
        """The earliest moment one of the answers given becomes due for its refresh (query cache clock)."""

    def rows(self, sql: str, params: Mapping[str, Value] | None = None) -> list[dict[str, Any]]:
        found = self.pinot.cached(sql, params)
        if found is None or len(found[0]) > self.max_rows:
            raise CacheMiss(sql)
        self.answered += 1
        self.fresh_until = min(self.fresh_until, found[1])
        return found[0]

    def fresh_for(self) -> float:
        """Seconds from now until the first answer given becomes due for its refresh (inf: none given)."""
        return self.fresh_until - self.pinot.cache_now()


def active_users(
    pinot: Pinot, start: datetime, end: datetime, table: str = ACTIVE_USERS.name, limit: int = 10_000
) -> list[ActiveUsersMinute]:
    """Minutes whose window starts in [start, end), oldest first."""
    return pinot.typed(
        ActiveUsersMinute,
        table,
        "WHERE window_start >= :start AND window_start < :end ORDER BY window_start LIMIT :limit",
        {"start": start, "end": end, "limit": limit},
    )


def product_metrics(
    pinot: Pinot,
    start: datetime,
    end: datetime,
    category: str | None = None,
    table: str = PRODUCT_METRICS.name,
    limit: int = 100_000,
) -> list[ProductMinute]:
    where = "WHERE window_start >= :start AND window_start < :end"
    params: dict[str, Value] = {"start": start, "end": end, "limit": limit}
    if category is not None:
        where += " AND product_category = :category"
        params["category"] = category
    return pinot.typed(
        ProductMinute, table, f"{where} ORDER BY window_start, product_id LIMIT :limit", params
    )


def sessions(
    pinot: Pinot, user_id: str | None = None, table: str = SESSION_METRICS.name, limit: int = 100_000
) -> list[SessionSummary]:
    if user_id is None:
        return pinot.typed(SessionSummary, table, "ORDER BY session_id LIMIT :limit", {"limit": limit})
    return pinot.typed(
        SessionSummary,
        table,
        "WHERE user_id = :user_id ORDER BY session_id LIMIT :limit",
        {"user_id": user_id, "limit": limit},
    )


def count(pinot: Pinot, table: str) -> int:
    # A table whose first consuming segments are not yet assigned answers with no row at all.
    rows = pinot.rows(f"SELECT COUNT(*) AS n FROM {identifier(table)}")
    return int(rows[0]["n"]) if rows else 0
