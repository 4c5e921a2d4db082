from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import PageDep, SpanDep
from api.schemas import BrandRank, BrandRanking, RegionRank, RegionRanking
from core.choices import BrandSort, RegionSort
from query import analytics

router = APIRouter(prefix="/metrics", tags=["enrichment"], route_class=CacheFirstRoute)


@router.get("/brands", responses=METRIC_RESPONSES)
def top_brands(
    ctx: ContextDep,
    r: SpanDep,
    page: PageDep,
    sort: Annotated[BrandSort, Query(description="rank by, descending; ties by brand")] = "revenue",
) -> BrandRanking:
    """Brands ranked by revenue, views, purchases or conversion (sessions that bought / that viewed).

    Each event counts under its product's brand as the catalogue listed it at the event's time; a
    product the catalogue did not list then counts as "unknown"."""
    timer = Timer()
    answer = analytics.brands(ctx.pinot, ctx.tables, r.start, r.end, sort, page.limit, page.offset)
    rows = answer.rows
    return BrandRanking(
        meta=meta(r, timer, ctx, answer, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=[BrandRank(rank=page.offset + i + 1, **row) for i, row in enumerate(rows)],
    )


@router.get("/customers/regions", responses=METRIC_RESPONSES)
def top_regions(
    ctx: ContextDep,
    r: SpanDep,
    page: PageDep,
    sort: Annotated[
        RegionSort, Query(description="rank by, descending; ties by country, then state")
    ] = "revenue",
) -> RegionRanking:
    """Customers, orders and revenue per country and state the customers lived in when they bought.

    A customer the register did not know at the purchase's time counts under "unknown"."""
    timer = Timer()
    answer = analytics.regions(ctx.pinot, ctx.tables, r.start, r.end, sort, page.limit, page.offset)
    rows, complete = answer.rows
    return RegionRanking(
        meta=meta(r, timer, ctx, answer, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        complete=complete,
        data=[RegionRank(rank=page.offset + i + 1, **row) for i, row in enumerate(rows)],
    )
