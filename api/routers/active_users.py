from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, MinuteRangeDep, RangeDep
from api.schemas import (
    ActiveUsersPoint,
    ActiveUsersSeries,
    SlidingActiveUsersPoint,
    SlidingActiveUsersSeries,
)
from api.timerange import Granularity, TimeRange
from core.metrics import ActiveUsersSliding
from query import analytics
from query.analytics import Filters

router = APIRouter(prefix="/metrics", tags=["active users"])
ZERO = {"active_users": 0, "sessions": 0, "events": 0}


def _series(ctx: Context, r: TimeRange, filters: Filters) -> list[ActiveUsersPoint]:
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
    source = analytics.active_users_table(ctx.tables, r.granularity is Granularity.minute, filters)
    return ActiveUsersSeries(meta=meta(r, timer, source, ctx), data=data, previous=previous)


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
    info = meta(r, timer, ctx.tables.active_users_sliding, ctx)
    newest_end = r.end - ActiveUsersSliding.slide + ActiveUsersSliding.size
    final = info.as_of is not None and newest_end <= info.as_of
    return SlidingActiveUsersSeries(meta=info.model_copy(update={"newest_bucket_final": final}), data=data)
