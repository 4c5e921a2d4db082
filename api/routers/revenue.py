from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, RangeDep
from api.schemas import RevenuePoint, RevenueSeries
from api.timerange import TimeRange
from query import analytics
from query.analytics import Filters
from query.answer import Answer

router = APIRouter(prefix="/metrics", tags=["revenue"], route_class=CacheFirstRoute)
ZERO: dict[str, Any] = {"revenue": 0.0, "orders": 0, "units": 0, "average_order_value": None}


def _with_average(rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    for row in rows.values():
        row["average_order_value"] = row["revenue"] / row["orders"] if row["orders"] else None
    return rows


def _series(ctx: Context, r: TimeRange, filters: Filters) -> Answer[list[RevenuePoint]]:
    def fetch(edges: Sequence[int]) -> Answer[dict[int, dict[str, Any]]]:
        return analytics.revenue(ctx.pinot, ctx.tables, edges, filters).map(_with_average)

    return series(r, fetch, RevenuePoint, ZERO)


@router.get("/revenue", responses=METRIC_RESPONSES)
def revenue(ctx: ContextDep, r: RangeDep, filters: FiltersDep, compare: CompareDep = None) -> RevenueSeries:
    """Revenue, orders, units and average order value per local minute, hour or day (gap-filled)."""
    timer = Timer()
    data = _series(ctx, r, filters)
    previous = _series(ctx, r.previous(), filters) if compare else None
    return RevenueSeries(
        meta=meta(r, timer, ctx, data, previous),
        data=data.rows,
        previous=previous.rows if previous else None,
    )
