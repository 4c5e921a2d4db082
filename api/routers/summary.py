from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from api.buckets import to_ms
from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import Context, ContextDep, NowDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, SpanDep
from api.schemas import Summary, Totals
from api.timerange import TimeRange
from query import analytics
from query.analytics import Filters
from query.answer import Answer

router = APIRouter(prefix="/metrics", tags=["summary"], route_class=CacheFirstRoute)


def _totals(ctx: Context, r: TimeRange, filters: Filters) -> Answer[Totals]:
    return analytics.totals(ctx.pinot, ctx.tables, r.start, r.end, filters).map(Totals.model_validate)


def previous_span(r: TimeRange, now: datetime) -> TimeRange:
    """What a total compares with: the previous period (`TimeRange.previous`); but while the range's
    newest bucket is still open, as much time before the range as has passed in it, so that the
    last 15 minutes so far compare with the 15 minutes before (not with 16 full ones)."""
    now_ms = to_ms(now)
    if r.end_ms <= now_ms or now_ms <= r.start_ms:
        return r.previous()
    return TimeRange(r.start_ms - (now_ms - r.start_ms), r.start_ms, r.granularity, r.tz)


@router.get("/summary", responses=METRIC_RESPONSES)
def summary(
    ctx: ContextDep, r: SpanDep, filters: FiltersDep, now: NowDep, compare: CompareDep = None
) -> Summary:
    """Totals over the range: events by type, orders, revenue, distinct users, sessions and products.

    Distinct counts are over the whole range (a user active in two minutes counts once). With
    compare=previous_period, a range that ends in an open bucket compares with as much time before it
    as has passed in it."""
    timer = Timer()
    data = _totals(ctx, r, filters)
    previous = _totals(ctx, previous_span(r, now), filters) if compare else None
    return Summary(
        meta=meta(r, timer, ctx, data, previous, series=False),
        data=data.rows,
        previous=previous.rows if previous else None,
    )
