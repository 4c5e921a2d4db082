from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.common import Timer, gap_filled, meta
from api.deps import PinotDep, SettingsDep, TablesDep
from api.params import CompareDep, FiltersDep, RangeDep
from api.schemas import RevenuePoint, RevenueSeries
from api.timerange import TimeRange
from query import analytics
from query.analytics import Filters, Tables
from query.pinot import Pinot

router = APIRouter(prefix="/metrics", tags=["revenue"])
ZERO: dict[str, Any] = {"revenue": 0.0, "orders": 0, "units": 0}


def _series(pinot: Pinot, tables: Tables, r: TimeRange, filters: Filters) -> list[RevenuePoint]:
    rows = analytics.revenue(pinot, tables, r.start, r.end, r.granularity.pinot_unit, str(r.tz), filters)
    for row in rows.values():
        row["average_order_value"] = row["revenue"] / row["orders"] if row["orders"] else None
    return gap_filled(r, rows, RevenuePoint, {**ZERO, "average_order_value": None})


@router.get("/revenue")
def revenue(
    pinot: PinotDep,
    tables: TablesDep,
    settings: SettingsDep,
    r: RangeDep,
    filters: FiltersDep,
    compare: CompareDep = None,
) -> RevenueSeries:
    """Revenue, orders, units and average order value per minute, hour or day (gap-filled)."""
    timer = Timer()
    data = _series(pinot, tables, r, filters)
    previous = _series(pinot, tables, r.previous(), filters) if compare else None
    return RevenueSeries(
        meta=meta(r, timer, tables.events, pinot, tables, settings), data=data, previous=previous
    )
