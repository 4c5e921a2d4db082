"""A microcache of whole responses in front of the metric routes: the same URL in the same second is
answered with the bytes computed for it, without parsing parameters, resolving dependencies or
rendering the body again.

Why: a metric answer served from the query cache still cost one uvicorn worker 0.6-1.1 ms of CPU, more
than half of it in FastAPI's dependency resolution and validation (`python -m bench.api_cost`,
docs/benchmarks.md), which capped a worker at about 1,000 cached answers/s (issue 16 asks 2,000).

Why the answer is the same as recomputing it:
- The key is the path, the raw query string, the wall-clock second and the served tables, read once
  per request and pinned for its route (`api.deps.PINNED`): the route's `now` is that second's last
  millisecond (`api.deps.get_now`) and its tables are those. A route's answer is a function of its
  parameters, its `now`, its tables and its query answers, so for one key only the answers can vary.
- A response is stored only when every query of its route was answered from the query cache, on the
  event loop (`api.cache_first`), and it is kept only until the first of those answers becomes due
  for its refresh (`query.cache.QueryCache.lookup`): until then, recomputing reads the same answers
  (unless the query cache, full, evicted one: then the kept bytes are older than a recomputation's,
  still within the same bound). So the microcache adds no staleness to the query cache's
  `api_cache_ttl_s`, and a late event shows as soon as it would without it.
- Only 200s are stored, and only for requests that need no API key: with access control on for a
  request, its check (scope, rate limit) and route run every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from cachetools import TLRUCache
from fastapi import Request, Response

from api.deps import PINNED, Pinned
from query.analytics import Tables
from query.serving import served

Key = tuple[str, bytes, int, Tables]
Handler = Callable[[Request], Coroutine[Any, Any, Response]]


@dataclass
class Computed:
    """Filled in by `api.cache_first` while a route runs: for how many more seconds the query answers it
    read stay what the query cache gives (until the first is due for its refresh), if all of them came
    from the cache; else None."""

    fresh_for: float | None = None


COMPUTED: ContextVar[Computed | None] = ContextVar("rta_response_cache_computed", default=None)


_OVERHEAD = 512  # bytes a kept response costs besides its body (key, headers, objects), roughly


@dataclass(frozen=True)
class _Stored:
    status: int
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    until: float


class ResponseCache:
    """Whole responses by (path, query string, wall-clock second, tables), each kept for as long as its
    inputs hold, at most `max_bytes` of bodies in all (least recently used out first) and none over
    `max_body`; `clock` times the holding (monotonic s), `wall` gives the second (epoch s).
    `on_lookup(hit)` is told the outcome of each lookup (the API counts them)."""

    def __init__(
        self,
        max_bytes: int = 32 << 20,
        max_body: int = 1 << 20,
        on_lookup: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self.wall = wall
        self._on_lookup = on_lookup
        self._max_body = max_body
        # bounded by bytes, not entries: a body can be a 1,000-row page or a long series
        self._entries: TLRUCache[Key, _Stored] = TLRUCache(
            maxsize=max_bytes,
            ttu=lambda _key, stored, _now: stored.until,
            timer=clock,
            getsizeof=lambda stored: len(stored.body) + _OVERHEAD,
        )

    def get(self, key: Key) -> Response | None:
        stored = self._entries.get(key)
        if self._on_lookup is not None:
            self._on_lookup(stored is not None)
        if stored is None:
            return None
        response = Response(content=stored.body, status_code=stored.status)
        response.raw_headers = list(stored.headers)
        return response

    def put(self, key: Key, response: Response, fresh_for: float) -> None:
        """Keep `response` (a 200 with its whole body) for `key` for `fresh_for` seconds (if positive), at
        most one: a key is asked for within its second only."""
        if response.status_code != 200 or response.background is not None or fresh_for <= 0:
            return
        body = getattr(response, "body", None)
        if not isinstance(body, bytes) or len(body) > self._max_body:  # streamed, or too big to hold
            return
        if any(name.lower() == b"set-cookie" for name, _ in response.raw_headers):  # one client's
            return
        until = self._clock() + min(fresh_for, 1.0)
        self._entries[key] = _Stored(response.status_code, body, tuple(response.raw_headers), until)


def microcached(handler: Handler) -> Handler:
    """A FastAPI route handler (request -> response) answered from the app's ResponseCache
    (`app.state.responses`, absent = off) where that gives the same bytes as `handler`."""

    async def handle(request: Request) -> Response:
        responses: ResponseCache | None = getattr(request.app.state, "responses", None)
        keys = getattr(request.app.state, "keys", None)
        if responses is None or keys is None or keys.required(request) or request.method != "GET":
            return await handler(request)
        # read once: the route answers as of this second and these tables (api.deps.get_now, get_tables)
        pinned = Pinned(int(responses.wall()), served(request.app.state.tables))
        key = (request.scope["path"], request.scope.get("query_string", b""), pinned.second, pinned.tables)
        hit = responses.get(key)
        if hit is not None:
            return hit
        computed = Computed()
        tokens = COMPUTED.set(computed), PINNED.set(pinned)
        try:
            response = await handler(request)
        finally:
            COMPUTED.reset(tokens[0])
            PINNED.reset(tokens[1])
        if computed.fresh_for is not None:
            responses.put(key, response, computed.fresh_for)
        return response

    return handle
