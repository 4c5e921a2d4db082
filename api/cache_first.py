"""Metric routes that answer from the query cache on the event loop, and use a worker thread only on a miss.

A route written as a plain `def` runs in Starlette's thread pool, because its Pinot queries block. The
hop to a worker thread and back cost about 0.4 ms of CPU per request on the 2-core machine, a third of
a cached answer's whole cost (docs/benchmarks.md section 12). `CacheFirstRoute` runs such a route once
on the event loop with a client that answers from the cache only (`query.pinot.CacheOnly`); if any of
its queries is not cached, that attempt is dropped and the route runs again, whole, in the thread pool
with the real client. The answer is the same either way: the cache is the one the thread would read.
Routes are pure functions of their parameters and query answers, so the dropped attempt leaves nothing
behind.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.deps import Context
from api.response_cache import COMPUTED, Handler, microcached
from query.pinot import CacheMiss, CacheOnly, Pinot


def _cache_only(value: object) -> tuple[object, CacheOnly] | None:
    """`value` with its Pinot client swapped for a cache-only one (and that client), or None if `value`
    is not the API's caching client or a Context holding it."""
    if isinstance(value, Context) and isinstance(value.pinot, Pinot) and value.pinot.caching:
        only = CacheOnly(value.pinot)
        return replace(value, pinot=only), only
    if isinstance(value, Pinot) and value.caching:
        only = CacheOnly(value)
        return only, only
    return None


def cache_first(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """An async endpoint with `endpoint`'s signature: the cached answer on the loop, else `endpoint` in a
    worker thread. Clients other than the API's caching `Pinot` (tests' fakes) always take the thread.
    Cache hits are counted once, by the attempt whose answer is used."""

    @functools.wraps(endpoint)
    async def answer(*args: Any, **kwargs: Any) -> Any:
        swapped = {name: found for name, value in kwargs.items() if (found := _cache_only(value)) is not None}
        if swapped:
            try:
                result = endpoint(*args, **{**kwargs, **{name: new for name, (new, _) in swapped.items()}})
            except CacheMiss:
                pass  # some query is not cached: ask Pinot where blocking is allowed
            else:
                for _, only in swapped.values():
                    only.pinot.count_cache_hits(only.answered)
                computed = COMPUTED.get()
                if computed is not None:  # the response cache may keep this answer while its inputs hold
                    computed.fresh_for = min(only.fresh_for() for _, only in swapped.values())
                return result
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return answer


class CacheFirstRoute(APIRoute):
    """`APIRouter(route_class=CacheFirstRoute)`: every plain-`def` route of the router is `cache_first`,
    and its answers computed wholly from the query cache are kept by the response cache
    (api/response_cache.py). Routers whose routes read large answers or return large bodies
    (retention, dead letters) keep the plain route class: their work per row would hold up the event
    loop."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        plain = not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
        )
        if plain:
            endpoint = cache_first(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        return microcached(super().get_route_handler())
