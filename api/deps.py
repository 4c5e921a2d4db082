"""Typed dependencies for the routes: settings, the shared Pinot client, table names, the clock.

Dependencies that do no blocking I/O are `async def`, here and in api/params.py: FastAPI runs a plain
`def` dependency in its thread pool, and each such hop cost about 0.5 ms of CPU per request on the
2-core machine (docs/benchmarks.md section 12). The one file access left on the event loop is
`get_tables`' stat() of the serving record (a local file; it is parsed only when a rebuild changed it)."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from core.settings import Settings
from query.analytics import Tables
from query.pinot import Pinot, Queryable
from query.serving import ServedTables


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_pinot(request: Request) -> Pinot:
    pinot: Pinot = request.app.state.pinot
    return pinot


@dataclass(frozen=True)
class Pinned:
    """What a request is answered as of, chosen once before its route runs (api/response_cache.py keys
    whole responses on it): the wall-clock second and the served tables."""

    second: int
    tables: Tables


PINNED: ContextVar[Pinned | None] = ContextVar("rta_request_pinned", default=None)


async def get_tables(request: Request) -> Tables:
    """The tables this request answers from: read once, so a rebuild's switch never splits an answer."""
    pinned = PINNED.get()
    if pinned is not None:
        return pinned.tables
    served: ServedTables = request.app.state.tables
    return served.current()


@dataclass(frozen=True)
class Context:
    """What every metric route queries with (tests and benchmarks override `get_pinot`: any Queryable)."""

    pinot: Queryable
    tables: Tables
    settings: Settings


def at_second(second: int) -> datetime:
    """The instant a request made during `second` (epoch s) is answered as of: its last millisecond, so
    that every request of one second gets one answer and the bucket that opened in it is included."""
    return datetime.fromtimestamp(second + 0.999, UTC)


async def get_now() -> datetime:
    """Now, read to the second (`at_second`): a range's open bucket is included from the second it opens."""
    pinned = PINNED.get()
    return at_second(pinned.second if pinned is not None else int(time.time()))


SettingsDep = Annotated[Settings, Depends(get_settings)]
PinotDep = Annotated[Pinot, Depends(get_pinot)]
TablesDep = Annotated[Tables, Depends(get_tables)]
NowDep = Annotated[datetime, Depends(get_now)]


async def get_context(pinot: PinotDep, tables: TablesDep, settings: SettingsDep) -> Context:
    """Overriding get_pinot (tests: a fake Pinot) reaches every route through this."""
    return Context(pinot, tables, settings)


ContextDep = Annotated[Context, Depends(get_context)]
