from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from api.common import Timer, gap_filled, meta
from api.deps import ContextDep
from api.params import CompareDep, FiltersDep, PageDep, RangeDep
from api.schemas import ProductPoint, ProductRank, ProductRanking, ProductSeries, ProductTotals
from api.timerange import TimeRange
from query import analytics

router = APIRouter(prefix="/metrics/products", tags=["products"])
ZERO = {"views": 0, "add_to_carts": 0, "purchases": 0, "units": 0, "revenue": 0.0, "avg_price": None}
ProductId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")]


@router.get("")
def top_products(
    ctx: ContextDep,
    r: RangeDep,
    filters: FiltersDep,
    page: PageDep,
    sort: Annotated[
        Literal["views", "add_to_carts", "purchases", "units", "revenue"], Query(description="rank by")
    ] = "views",
    compare: CompareDep = None,
) -> ProductRanking:
    """Top products over the range, ranked by views, add-to-carts, purchases, units or revenue."""
    timer = Timer()
    rows = analytics.top_products(
        ctx.pinot, ctx.tables, r.start, r.end, filters, sort, page.limit, page.offset
    )
    before: dict[str, ProductTotals] = {}
    if compare and rows:
        prev = r.previous()
        ids = [row["product_id"] for row in rows]
        for row in analytics.top_products(
            ctx.pinot, ctx.tables, prev.start, prev.end, filters, sort, len(ids), 0, product_ids=ids
        ):
            before[row["product_id"]] = ProductTotals.model_validate(row)
    data = [
        ProductRank(
            rank=page.offset + i + 1,
            **row,
            previous=before.get(row["product_id"], ProductTotals.model_validate(ZERO)) if compare else None,
        )
        for i, row in enumerate(rows)
    ]
    source = ctx.tables.events if filters.on_session_dimensions else ctx.tables.product_metrics
    return ProductRanking(
        meta=meta(r, timer, source, ctx, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=data,
    )


@router.get("/{product_id}")
def product_series(
    ctx: ContextDep,
    product_id: ProductId,
    r: RangeDep,
    filters: FiltersDep,
    compare: CompareDep = None,
) -> ProductSeries:
    """One product's views, add-to-carts, purchases, units, revenue and average price over time."""
    timer = Timer()
    info = analytics.product_info(ctx.pinot, ctx.tables, product_id)
    if info is None:
        raise HTTPException(404, f"no product {product_id!r} has any events")

    def series(rng: TimeRange) -> list[ProductPoint]:
        rows = analytics.product_series(
            ctx.pinot,
            ctx.tables,
            product_id,
            rng.start,
            rng.end,
            rng.granularity.pinot_unit,
            str(rng.tz),
            filters,
        )
        return gap_filled(rng, rows, ProductPoint, ZERO)

    source = ctx.tables.events if filters.on_session_dimensions else ctx.tables.product_metrics
    return ProductSeries(
        meta=meta(r, timer, source, ctx),
        product_id=info["product_id"],
        product_name=info["product_name"],
        product_category=info["product_category"],
        data=series(r),
        previous=series(r.previous()) if compare else None,
    )
