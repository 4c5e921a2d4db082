from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse

from api import buckets
from api.common import closed_minute
from api.deps import Context
from api.errors import UNAVAILABLE, ErrorBody, ErrorItem, Unavailable
from api.live import Failure, LiveFeeds, TooManyFeeds
from api.params import FiltersDep
from api.schemas import LivePoint, LiveSnapshot
from core.settings import Settings
from query import analytics
from query.analytics import Filters
from query.pinot import PinotError, Queryable
from query.serving import ServedTables

router = APIRouter(prefix="/metrics", tags=["live"])
MINUTE_MS = 60_000
RETRY_MS = 2000  # how soon a browser's EventSource reconnects after the API went away
PING_S = 15  # a comment line keeps proxies from closing an idle stream
ZERO: dict[str, Any] = {
    "active_users": 0,
    "sessions": 0,
    **{name: 0 for name in (*analytics.EVENT_TYPES, "events")},
    "revenue": 0.0,
    "orders": 0,
    "accepted": 0,
    "late": 0,
    "dead_lettered": 0,
}


def snapshot(ctx: Context, filters: Filters, now: datetime) -> LiveSnapshot:
    """The newest `api_live_minutes` minutes up to the one holding `now`, each marked final or open.

    Data quality (accepted / late / dead-lettered, by arrival) is over all traffic: it has no filters."""
    now_ms = buckets.to_ms(now)
    end = now_ms - now_ms % MINUTE_MS + MINUTE_MS
    edges = [end - k * MINUTE_MS for k in range(ctx.settings.api_live_minutes, -1, -1)]
    p, t = ctx.pinot, ctx.tables
    rows: dict[int, dict[str, Any]] = {start: dict(ZERO) for start in edges[:-1]}
    parts = (
        analytics.active_users(p, t, edges, True, filters).rows,
        analytics.event_types(p, t, edges, filters).rows,
        {
            k: {"revenue": v["revenue"], "orders": v["orders"]}
            for k, v in analytics.revenue(p, t, edges, filters).rows.items()
        },
        analytics.data_quality(p, t, edges).rows,
    )
    for part in parts:
        for start, values in part.items():
            if start in rows:
                rows[start].update(values)
    newest = analytics.newest_event_time(p, t).rows
    closed = closed_minute(newest, ctx.settings.watermark_delay_s)
    closed_ms = buckets.to_ms(closed) if closed else None
    return LiveSnapshot(
        generated_at=now,
        as_of=closed,
        behind_s=None if closed_ms is None else round((now_ms - closed_ms) / 1000, 3),
        newest_event=None if newest is None else buckets.to_datetime(newest),
        data=[
            LivePoint(
                bucket=buckets.to_datetime(start),
                final=closed_ms is not None and start + MINUTE_MS <= closed_ms,
                **values,
            )
            for start, values in sorted(rows.items())
        ],
    )


def make_feeds(
    pinot: Queryable, served: ServedTables, settings: Settings
) -> LiveFeeds[Filters, LiveSnapshot]:
    """One feed per filter set; each snapshot reads the tables served at that moment."""
    return LiveFeeds(
        lambda filters: snapshot(Context(pinot, served.current(), settings), filters, datetime.now(UTC)),
        interval_s=settings.api_live_interval_s,
        max_feeds=settings.api_live_max_feeds,
    )


def _unavailable(failure: Failure) -> str:
    # Our own summary for Pinot's failures; anything else stays in the log (api/live.py logs it).
    what = (
        str(failure.error) if isinstance(failure.error, PinotError) else "the live metrics could not be read"
    )
    body = ErrorBody(detail=[ErrorItem(loc=[], msg=f"{what}; retrying", type="unavailable")])
    return body.model_dump_json()


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "text/event-stream: event `live` carries a LiveSnapshot (JSON) every few seconds; "
            "event `unavailable` an ErrorBody while Pinot cannot answer (the stream stays open)",
            "content": {"text/event-stream": {"schema": LiveSnapshot.model_json_schema()}},
        },
        **UNAVAILABLE,
    },
)
async def stream(request: Request, filters: FiltersDep) -> EventSourceResponse:
    """Server-Sent Events: the newest minutes' metrics and freshness, pushed every few seconds.

    Clients with the same filters share one computation per push (not one Pinot query each)."""
    feeds: LiveFeeds[Filters, LiveSnapshot] = request.app.state.live
    try:
        subscription = feeds.subscribe(filters)
    except TooManyFeeds as exc:
        raise Unavailable(str(exc)) from exc

    async def events() -> AsyncIterator[dict[str, Any]]:
        try:
            async for item in subscription:
                if isinstance(item, Failure):
                    yield {"event": "unavailable", "data": _unavailable(item), "retry": RETRY_MS}
                else:
                    yield {"event": "live", "data": item.model_dump_json(), "retry": RETRY_MS}
        finally:
            subscription.close()

    return EventSourceResponse(
        events(), ping=PING_S, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
