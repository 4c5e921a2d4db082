from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta, series
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES, NOT_FOUND, NotFound
from api.params import CompareDep, FiltersDep, PageDep, RangeDep, SpanDep
from api.schemas import ProductPoint, ProductRank, ProductRanking, ProductSeries, ProductTotals
from api.timerange import TimeRange
from core.choices import ProductSort
from query import analytics
from query.answer import Answer

router = APIRouter(prefix="/metrics/products", tags=["products"], route_class=CacheFirstRoute)
ZERO = {"views": 0, "add_to_carts": 0, "purchases": 0, "units": 0, "revenue": 0.0, "avg_price": None}
ID_PATTERN = r"^(?:[^\x00-\x1f/.]|\.[^\x00-\x1f/.]|\.\.[^\x00-\x1f/])[^\x00-\x1f/]*$"
"""An id as a path segment: no control characters, no '/', not '.' or '..'."""
ProductId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.get("", responses=METRIC_RESPONSES)
def top_products(
    ctx: ContextDep,
    r: SpanDep,
    filters: FiltersDep,
    page: PageDep,
    sort: Annotated[
        ProductSort,
        Query(description="rank by, descending; ties by product_id"),
    ] = "views",
    compare: CompareDep = None,
) -> ProductRanking:
    """Top products over the range, ranked by views, add-to-carts, purchases, units or revenue.

    `rank` is the product's position in the whole ranking (offset + 1 for the first row of a page); the
    ranking is a total order (ties broken by product_id), so consecutive pages neither repeat nor skip."""
    timer = Timer()
    ranked = analytics.top_products(
        ctx.pinot, ctx.tables, r.start, r.end, filters, sort, page.limit, page.offset
    )
    rows = ranked.rows
    before: dict[str, ProductTotals] = {}
    totals = None
    if compare and rows:
        prev = r.previous()
        ids = [row["product_id"] for row in rows]
        totals = analytics.product_totals(ctx.pinot, ctx.tables, prev.start, prev.end, filters, ids)
        before = {pid: ProductTotals.model_validate(row) for pid, row in totals.rows.items()}
    data = [
        ProductRank(
            rank=page.offset + i + 1,
            **row,
            previous=before.get(row["product_id"], ProductTotals.model_validate(ZERO)) if compare else None,
        )
        for i, row in enumerate(rows)
    ]
    return ProductRanking(
        meta=meta(r, timer, ctx, ranked, totals, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=data,
    )


@router.get("/{product_id}", responses={**NOT_FOUND, **METRIC_RESPONSES})
def product_series(
    ctx: ContextDep,
    product_id: ProductId,
    r: RangeDep,
    filters: FiltersDep,
    compare: CompareDep = None,
) -> ProductSeries:
    """One product's views, add-to-carts, purchases, units, revenue and average price over time.

    404 when no product of that id has any event."""
    timer = Timer()
    info = analytics.product_info(ctx.pinot, ctx.tables, product_id).rows
    if info is None:
        raise NotFound("product_id", "no product of this id has any events")

    def points(rng: TimeRange) -> Answer[list[ProductPoint]]:
        return series(
            rng,
            lambda edges: analytics.product_series(ctx.pinot, ctx.tables, product_id, edges, filters),
            ProductPoint,
            ZERO,
        )

    data = points(r)
    previous = points(r.previous()) if compare else None
    # meta.source: the tables of the numbers (the name and category always come from the minute rows)
    return ProductSeries(
        meta=meta(r, timer, ctx, data, previous),
        product_id=info["product_id"],
        product_name=info["product_name"],
        product_category=info["product_category"],
        data=data.rows,
        previous=previous.rows if previous else None,
    )
