from __future__ import annotations

from fastapi import APIRouter

from api.common import Timer, gap_filled, meta
from api.deps import Context, ContextDep
from api.params import CompareDep, FiltersDep, RangeDep
from api.schemas import ActiveUsersPoint, ActiveUsersSeries
from api.timerange import Granularity, TimeRange
from query import analytics
from query.analytics import Filters

router = APIRouter(prefix="/metrics", tags=["active users"])
ZERO = {"active_users": 0, "sessions": 0, "events": 0}


def _series(ctx: Context, r: TimeRange, filters: Filters) -> list[ActiveUsersPoint]:
    unit, tz = r.granularity.pinot_unit, str(r.tz)
    rows = analytics.active_users(ctx.pinot, ctx.tables, r.start, r.end, unit, tz, filters)
    return gap_filled(r, rows, ActiveUsersPoint, ZERO)


@router.get("/active-users")
def active_users(
    ctx: ContextDep, r: RangeDep, filters: FiltersDep, compare: CompareDep = None
) -> ActiveUsersSeries:
    """Distinct active users, sessions and events per minute, hour or day (gap-filled)."""
    timer = Timer()
    data = _series(ctx, r, filters)
    previous = _series(ctx, r.previous(), filters) if compare else None
    minutes = r.granularity is Granularity.minute and not filters.active()
    source = ctx.tables.active_users if minutes else ctx.tables.events
    return ActiveUsersSeries(meta=meta(r, timer, source, ctx), data=data, previous=previous)
