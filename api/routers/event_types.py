from __future__ import annotations

from fastapi import APIRouter

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, RangeDep
from api.schemas import EventTypesPoint, EventTypesSeries
from api.timerange import TimeRange
from query import analytics
from query.analytics import Filters
from query.answer import Answer

router = APIRouter(prefix="/metrics", tags=["events"], route_class=CacheFirstRoute)
ZERO = {name: 0 for name in (*analytics.EVENT_TYPES, "events")}


def _series(ctx: Context, r: TimeRange, filters: Filters) -> Answer[list[EventTypesPoint]]:
    return series(
        r, lambda edges: analytics.event_types(ctx.pinot, ctx.tables, edges, filters), EventTypesPoint, ZERO
    )


@router.get("/events", responses=METRIC_RESPONSES)
def event_types(
    ctx: ContextDep, r: RangeDep, filters: FiltersDep, compare: CompareDep = None
) -> EventTypesSeries:
    """Accepted events of each type per local minute, hour or day of `tz` (gap-filled)."""
    timer = Timer()
    data = _series(ctx, r, filters)
    previous = _series(ctx, r.previous(), filters) if compare else None
    return EventTypesSeries(
        meta=meta(r, timer, ctx, data, previous),
        data=data.rows,
        previous=previous.rows if previous else None,
    )
