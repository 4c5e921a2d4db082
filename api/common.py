"""Helpers shared by the metric routes: response metadata and gap-filled series."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from api import buckets
from api.deps import Context
from api.schemas import Meta
from api.timerange import TimeRange
from query import analytics
from query.answer import Answer, read_from

P = TypeVar("P", bound=BaseModel)


class Timer:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 2)


def closed_minute(newest_ms: int | None, watermark_delay_s: int) -> datetime | None:
    """End of the newest minute the watermark has passed, given the newest queryable event time."""
    if newest_ms is None:
        return None
    closed = newest_ms - watermark_delay_s * 1000
    return datetime.fromtimestamp((closed - closed % 60_000) / 1000, tz=UTC)


def as_of(ctx: Context) -> datetime | None:
    """End of the newest minute the watermark has passed, judged from the newest queryable event."""
    newest = analytics.newest_event_time(ctx.pinot, ctx.tables).rows
    return closed_minute(newest, ctx.settings.watermark_delay_s)


def meta(r: TimeRange, timer: Timer, ctx: Context, *read: Answer[Any] | None, series: bool = True) -> Meta:
    """The response's metadata; `source` names the tables of the answers `read` (query/answer.py; None:
    a part not asked for, such as the compared period without `compare`)."""
    closed = as_of(ctx)
    return Meta(
        from_=r.start.astimezone(r.tz),
        to=r.end.astimezone(r.tz),
        granularity=r.granularity.value if series else None,
        tz=str(r.tz),
        as_of=closed.astimezone(r.tz) if closed else None,
        newest_bucket_final=closed is not None and r.end <= closed,
        query_ms=timer.ms,
        source=read_from(*(a for a in read if a is not None)),
    )


def series(
    r: TimeRange,
    fetch: Callable[[list[int]], Answer[dict[int, dict[str, Any]]]],
    make: Callable[..., P],
    zero: dict[str, Any],
) -> Answer[list[P]]:
    """One point per bucket of the range (labelled with its start in the range's zone), zeros where Pinot
    has no row. `fetch(edges)` answers bucket start (epoch ms) -> values (no bucket for an empty range)."""
    edges = r.edges()
    return fetch(edges).map(
        lambda rows: [
            make(bucket=buckets.to_datetime(start).astimezone(r.tz), **{**zero, **rows.get(start, {})})
            for start in edges[:-1]
        ]
    )
