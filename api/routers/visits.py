from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta, series
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import RangeDep
from api.schemas import VisitsPoint, VisitsSeries
from query import analytics

router = APIRouter(prefix="/metrics", tags=["visits"], route_class=CacheFirstRoute)
ZERO = {"visits": 0, "bounces": 0, "duration_ms": 0, "page_views": 0}


def _point(bucket: Any, visits: int, bounces: int, duration_ms: int, page_views: int) -> VisitsPoint:
    return VisitsPoint(
        bucket=bucket,
        visits=visits,
        bounces=bounces,
        bounce_rate=bounces / visits if visits else None,
        avg_duration_s=duration_ms / visits / 1000 if visits else None,
        pages_per_visit=page_views / visits if visits else None,
    )


@router.get("/visits", responses=METRIC_RESPONSES)
def visits(ctx: ContextDep, r: RangeDep) -> VisitsSeries:
    """Visits (a user's events split by 30 minutes of inactivity) per bucket of their start: bounce rate,
    mean duration and pages per visit.

    A late event that joins two visits, or comes before one, updates the visits it touches."""
    timer = Timer()
    data = series(r, lambda edges: analytics.visits(ctx.pinot, ctx.tables, edges), _point, ZERO)
    return VisitsSeries(meta=meta(r, timer, ctx, data), data=data.rows)
