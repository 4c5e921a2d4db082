from __future__ import annotations

from fastapi import APIRouter

from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, RangeDep
from api.schemas import ActiveUsersPoint, ActiveUsersSeries
from api.timerange import Granularity, TimeRange
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
    minutes = r.granularity is Granularity.minute and not filters.active()
    source = ctx.tables.active_users if minutes else ctx.tables.events
    return ActiveUsersSeries(meta=meta(r, timer, source, ctx), data=data, previous=previous)
