from __future__ import annotations

from fastapi import APIRouter

from api.common import Timer, gap_filled, meta
from api.deps import PinotDep, SettingsDep, TablesDep
from api.params import CompareDep, FiltersDep, RangeDep
from api.schemas import ActiveUsersPoint, ActiveUsersSeries
from api.timerange import TimeRange
from query import analytics
from query.analytics import Filters, Tables
from query.pinot import Pinot

router = APIRouter(prefix="/metrics", tags=["active users"])
ZERO = {"active_users": 0, "sessions": 0, "events": 0}


def _series(pinot: Pinot, tables: Tables, r: TimeRange, filters: Filters) -> list[ActiveUsersPoint]:
    rows = analytics.active_users(pinot, tables, r.start, r.end, r.granularity.pinot_unit, str(r.tz), filters)
    return gap_filled(r, rows, ActiveUsersPoint, ZERO)


@router.get("/active-users", response_model_by_alias=True)
def active_users(
    pinot: PinotDep,
    tables: TablesDep,
    settings: SettingsDep,
    r: RangeDep,
    filters: FiltersDep,
    compare: CompareDep = None,
) -> ActiveUsersSeries:
    """Distinct active users, sessions and events per minute, hour or day (gap-filled)."""
    timer = Timer()
    data = _series(pinot, tables, r, filters)
    previous = _series(pinot, tables, r.previous(), filters) if compare else None
    fast = r.granularity.value == "minute" and not filters.active()
    source = tables.active_users if fast else tables.events
    return ActiveUsersSeries(
        meta=meta(r, timer, source, pinot, tables, settings), data=data, previous=previous
    )
