from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, FiltersDep, SpanDep
from api.schemas import Funnel, FunnelSegment, FunnelStep
from api.timerange import TimeRange
from core.choices import FUNNEL_STEPS, FunnelBreakdown
from query import analytics
from query.analytics import Filters
from query.answer import Answer

router = APIRouter(prefix="/metrics", tags=["funnel"], route_class=CacheFirstRoute)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _segment(row: dict[str, Any]) -> FunnelSegment:
    steps, before = [], None
    for step, name in FUNNEL_STEPS:
        sessions = row[f"{name}_sessions"]
        steps.append(
            FunnelStep(
                step=step,
                events=row[f"{name}_events"],
                sessions=sessions,
                conversion_from_previous=None if before is None else _ratio(sessions, before),
            )
        )
        before = sessions
    return FunnelSegment(
        segment=str(row["segment"]),
        steps=steps,
        overall_conversion=_ratio(row["purchased_sessions"], row["viewed_sessions"]),
    )


def _segments(ctx: Context, r: TimeRange, filters: Filters, by: str | None) -> Answer[list[FunnelSegment]]:
    answer = analytics.funnel(ctx.pinot, ctx.tables, r.start, r.end, filters, by)
    return answer.map(lambda rows: [_segment(row) for row in rows])


@router.get("/funnel", responses=METRIC_RESPONSES)
def funnel(
    ctx: ContextDep,
    r: SpanDep,
    filters: FiltersDep,
    breakdown: Annotated[FunnelBreakdown | None, Query(description="one segment per value")] = None,
    compare: CompareDep = None,
) -> Funnel:
    """Product view -> add to cart -> purchase: events, sessions and conversion per step."""
    timer = Timer()
    data = _segments(ctx, r, filters, breakdown)
    previous = _segments(ctx, r.previous(), filters, breakdown) if compare else None
    return Funnel(
        meta=meta(r, timer, ctx, data, previous, series=False),
        breakdown=breakdown,
        data=data.rows,
        previous=previous.rows if previous else None,
    )
