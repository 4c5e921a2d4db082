from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends

from api import buckets
from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep, NowDep
from api.errors import METRIC_RESPONSES
from api.params import FiltersDep, From, To, Tz
from api.schemas import HourOfDay, HourOfDayProfile
from api.timerange import MAX_BUCKETS, Granularity, TimeRange, time_range
from query import analytics

router = APIRouter(prefix="/metrics/page-views", tags=["page views"], route_class=CacheFirstRoute)


async def hourly_range(now: NowDep, from_: From = None, to: To = None, tz: Tz = "UTC") -> TimeRange:
    """Local hours of `tz`; by default the last 7 days; at most the newest MAX_BUCKETS hours."""
    return time_range(from_, to, tz, Granularity.hour, now, timedelta(days=7), max_buckets=MAX_BUCKETS)


@router.get("/hour-of-day", responses=METRIC_RESPONSES)
def hour_of_day(
    ctx: ContextDep, r: Annotated[TimeRange, Depends(hourly_range)], filters: FiltersDep
) -> HourOfDayProfile:
    """Page views per local hour of the day (0-23) in `tz`, summed over the range's days.

    The range is aligned to local hours; at most the newest 10,000 hours (`meta.from` says where)."""
    timer = Timer()
    counts = [0] * 24
    answer = analytics.page_views_by_hour(ctx.pinot, ctx.tables, r.edges(), filters)
    for start, n in answer.rows.items():
        counts[buckets.to_datetime(start).astimezone(r.tz).hour] += n
    return HourOfDayProfile(
        meta=meta(r, timer, ctx, answer),
        data=[HourOfDay(hour=h, page_views=n) for h, n in enumerate(counts)],
    )
