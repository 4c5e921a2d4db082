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

router = APIRouter(prefix="/metrics", tags=["revenue"], route_class=CacheFirstRoute)
ZERO: dict[str, Any] = {"revenue": 0.0, "orders": 0, "units": 0, "average_order_value": None}


def _series(ctx: Context, r: TimeRange, filters: Filters) -> list[RevenuePoint]:
    def fetch(edges: Sequence[int]) -> dict[int, dict[str, Any]]:
        rows = analytics.revenue(ctx.pinot, ctx.tables, edges, filters)
        for row in rows.values():
            row["average_order_value"] = row["revenue"] / row["orders"] if row["orders"] else None
        return rows

    return series(r, fetch, RevenuePoint, ZERO)


@router.get("/revenue", responses=METRIC_RESPONSES)
def revenue(ctx: ContextDep, r: RangeDep, filters: FiltersDep, compare: CompareDep = None) -> RevenueSeries:
    """Revenue, orders, units and average order value per local minute, hour or day (gap-filled)."""
    timer = Timer()
    data = _series(ctx, r, filters)
    previous = _series(ctx, r.previous(), filters) if compare else None
    return RevenueSeries(meta=meta(r, timer, ctx.tables.events, ctx), data=data, previous=previous)
