from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import FiltersDep, PageDep, SpanDep
from api.schemas import LocationRank, LocationRanking, OrderCount, OrderFrequency
from core.choices import LocationSort
from query import analytics

router = APIRouter(prefix="/metrics/customers", tags=["customers"], route_class=CacheFirstRoute)


@router.get("/locations", responses=METRIC_RESPONSES)
def locations(
    ctx: ContextDep,
    r: SpanDep,
    filters: FiltersDep,
    page: PageDep,
    sort: Annotated[
        LocationSort,
        Query(description="rank by, descending; ties by location"),
    ] = "revenue",
) -> LocationRanking:
    """Users, customers, orders and revenue per location over the range."""
    timer = Timer()
    answer = analytics.locations(
        ctx.pinot, ctx.tables, r.start, r.end, filters, sort, page.limit, page.offset
    )
    rows = answer.rows
    return LocationRanking(
        meta=meta(r, timer, ctx, answer, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=[LocationRank(rank=page.offset + i + 1, **row) for i, row in enumerate(rows)],
    )


@router.get("/order-frequency", responses=METRIC_RESPONSES)
def order_frequency(ctx: ContextDep, r: SpanDep, filters: FiltersDep) -> OrderFrequency:
    """How many customers placed 1, 2, 3, ... orders (distinct order_id) in the range.

    Exact up to 100,000 customers in the range (Pinot's group limit); `complete` says whether it held."""
    timer = Timer()
    answer = analytics.orders_per_customer(ctx.pinot, ctx.tables, r.start, r.end, filters)
    histogram, complete = answer.rows
    most = max(histogram, default=0)
    return OrderFrequency(
        meta=meta(r, timer, ctx, answer, series=False),
        customers=sum(histogram.values()),
        complete=complete,
        data=[OrderCount(orders=n, customers=histogram.get(n, 0)) for n in range(1, most + 1)],
    )
