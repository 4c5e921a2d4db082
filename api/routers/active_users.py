from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from fastapi import APIRouter

from api import buckets
from api.cache_first import CacheFirstRoute
from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, MinuteRangeDep, RangeDep
from api.schemas import (
    ActiveUsersPoint,
    ActiveUsersSeries,
    DayToDatePoint,
    DayToDateSeries,
    SlidingActiveUsersPoint,
    SlidingActiveUsersSeries,
)
from api.timerange import Granularity, TimeRange
from core.business_day import business_day
from core.metrics import ActiveUsersSliding
from query import analytics
from query.analytics import Filters
from query.answer import Answer

router = APIRouter(prefix="/metrics", tags=["active users"], route_class=CacheFirstRoute)
ZERO = {"active_users": 0, "sessions": 0, "events": 0}


def _series(ctx: Context, r: TimeRange, filters: Filters) -> Answer[list[ActiveUsersPoint]]:
    minutes = r.granularity is Granularity.minute
    return series(
        r,
        lambda edges: analytics.active_users(ctx.pinot, ctx.tables, edges, minutes, filters),
        ActiveUsersPoint,
        ZERO,
    )


@router.get("/active-users", responses=METRIC_RESPONSES)
def active_users(
    ctx: ContextDep, r: RangeDep, filters: FiltersDep, compare: CompareDep = None
) -> ActiveUsersSeries:
    """Distinct active users, sessions and events per local minute, hour or day of `tz` (gap-filled).

    A product_category filter counts product events of that category only (page views have none)."""
    timer = Timer()
    data = _series(ctx, r, filters)
    previous = _series(ctx, r.previous(), filters) if compare else None
    return ActiveUsersSeries(
        meta=meta(r, timer, ctx, data, previous),
        data=data.rows,
        previous=previous.rows if previous else None,
    )


def _sliding_point(bucket: datetime, **values: Any) -> SlidingActiveUsersPoint:
    # Add the length to the instant, not to the local clock: across a DST change they differ.
    end = (bucket.astimezone(UTC) + ActiveUsersSliding.size).astimezone(bucket.tzinfo)
    return SlidingActiveUsersPoint(bucket=bucket, window_end=end, **values)


@router.get("/active-users/sliding", responses=METRIC_RESPONSES)
def active_users_sliding(ctx: ContextDep, r: MinuteRangeDep) -> SlidingActiveUsersSeries:
    """Distinct active users, sessions and events in the 5 minutes from each minute (a hopping window).

    One point per window start in the range, so the last window ends 4 minutes after `meta.to`; a window
    is final once `meta.as_of` reaches its end."""
    timer = Timer()
    data = series(
        r,
        lambda edges: analytics.active_users_sliding(ctx.pinot, ctx.tables, edges),
        _sliding_point,
        ZERO,
    )
    info = meta(r, timer, ctx, data)
    newest_end = r.end - ActiveUsersSliding.slide + ActiveUsersSliding.size
    final = info.as_of is not None and newest_end <= info.as_of
    return SlidingActiveUsersSeries(
        meta=info.model_copy(update={"newest_bucket_final": final}), data=data.rows
    )


LONGEST_DAY = timedelta(hours=26)
"""More than any calendar day lasts (25 hours at a daylight-saving change; Samoa's 2011 jump was a skip)."""


class _RunningTotal:
    """Prefix sums of per-minute values within one business day: the total to the end of a minute."""

    def __init__(self, per_minute: dict[int, Any]) -> None:
        self.minutes = sorted(per_minute)
        self.sums = list(accumulate(per_minute[m] for m in self.minutes))

    def through(self, minute: int) -> Any:
        i = bisect_right(self.minutes, minute)
        return self.sums[i - 1] if i else 0


def day_to_date(ctx: Context, r: TimeRange) -> tuple[list[DayToDatePoint], tuple[Answer[Any], ...]]:
    """The points, and the answers they were computed from."""
    edges = r.edges()
    zone = ctx.settings.business_time_zone
    day_of = {m: business_day(m, zone) for m in edges[:-1]}
    days = sorted(set(day_of.values()))
    first_seen_answer = analytics.first_seen_per_minute(ctx.pinot, ctx.tables, days, edges[-1])
    first_seen = first_seen_answer.rows
    # from the first day's start, or earlier; nothing for an empty range
    since = edges[0] - int(LONGEST_DAY.total_seconds() * 1000) if days else edges[-1]
    revenue_answer = analytics.revenue_per_minute(ctx.pinot, ctx.tables, since, edges[-1])
    revenue: dict[str, dict[int, float]] = {day: {} for day in days}
    for minute, amount in revenue_answer.rows.items():
        day = business_day(minute, zone)
        if day in revenue:
            revenue[day][minute] = amount
    users = {day: _RunningTotal(first_seen.get(day, {})) for day in days}
    sales = {day: _RunningTotal(revenue[day]) for day in days}
    points = [
        DayToDatePoint(
            bucket=buckets.to_datetime(m).astimezone(r.tz),
            business_day=day_of[m],
            users=users[day_of[m]].through(m),
            new_users=first_seen.get(day_of[m], {}).get(m, 0),
            revenue=float(sales[day_of[m]].through(m)),
        )
        for m in edges[:-1]
    ]
    return points, (first_seen_answer, revenue_answer)


@router.get("/day-to-date", responses=METRIC_RESPONSES)
def day_to_date_totals(ctx: ContextDep, r: MinuteRangeDep) -> DayToDateSeries:
    """Running distinct users and revenue since the start of the business day, at the end of each minute.

    Days are those of the business time zone (`business_time_zone`, from settings), whatever `tz` says;
    the totals restart at each of its midnights. A late event updates every minute after it."""
    timer = Timer()
    data, read = day_to_date(ctx, r)
    return DayToDateSeries(
        meta=meta(r, timer, ctx, *read), business_time_zone=ctx.settings.business_time_zone, data=data
    )
