from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import SpanDep
from api.schemas import Dimensions
from query import analytics

router = APIRouter(prefix="/metrics", tags=["filters"], route_class=CacheFirstRoute)


@router.get("/dimensions", responses=METRIC_RESPONSES)
def dimensions(
    ctx: ContextDep,
    r: SpanDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="values per dimension")] = 200,
) -> Dimensions:
    """The values of each filter dimension seen in the range, sorted: what the filters can match."""
    timer = Timer()
    values = analytics.dimension_values(ctx.pinot, ctx.tables, r.start, r.end, limit)
    return Dimensions(meta=meta(r, timer, ctx, values, series=False), **values.rows)
