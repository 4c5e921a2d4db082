from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import FiltersDep, PageDep, SpanDep
from api.schemas import CategoryRank, CategoryRanking
from core.choices import CategorySort
from query import analytics

router = APIRouter(prefix="/metrics", tags=["products"], route_class=CacheFirstRoute)


@router.get("/categories", responses=METRIC_RESPONSES)
def top_categories(
    ctx: ContextDep,
    r: SpanDep,
    filters: FiltersDep,
    page: PageDep,
    sort: Annotated[
        CategorySort,
        Query(description="rank by, descending; ties by product_category"),
    ] = "revenue",
) -> CategoryRanking:
    """Product categories over the range, ranked by revenue, views, add-to-carts, purchases or units."""
    timer = Timer()
    answer = analytics.top_categories(
        ctx.pinot, ctx.tables, r.start, r.end, filters, sort, page.limit, page.offset
    )
    rows = answer.rows
    return CategoryRanking(
        meta=meta(r, timer, ctx, answer, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=[CategoryRank(rank=page.offset + i + 1, **row) for i, row in enumerate(rows)],
    )
