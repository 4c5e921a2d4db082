from __future__ import annotations

from fastapi import APIRouter

from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, RangeDep
from api.schemas import QualityPoint, QualitySeries
from api.timerange import TimeRange
from query import analytics

router = APIRouter(prefix="/metrics", tags=["data quality"])
ZERO = {"accepted": 0, "late": 0, "dead_lettered": 0}


def _series(ctx: Context, r: TimeRange) -> list[QualityPoint]:
    return series(r, lambda edges: analytics.data_quality(ctx.pinot, ctx.tables, edges), QualityPoint, ZERO)


@router.get("/data-quality", responses=METRIC_RESPONSES)
def data_quality(ctx: ContextDep, r: RangeDep, compare: CompareDep = None) -> QualitySeries:
    """Accepted, late and dead-lettered events per bucket of arrival time (the Kafka record time)."""
    timer = Timer()
    data = _series(ctx, r)
    previous = _series(ctx, r.previous()) if compare else None
    source = f"{ctx.tables.events}, {ctx.tables.dead_letters}"
    return QualitySeries(meta=meta(r, timer, source, ctx), data=data, previous=previous)
