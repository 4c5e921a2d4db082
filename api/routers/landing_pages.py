from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import PageDep, SessionFiltersDep, SpanDep
from api.schemas import LandingPageRank, LandingPageRanking
from api.timerange import ParamError
from core.choices import LandingPageSort
from query import analytics

router = APIRouter(prefix="/metrics", tags=["traffic sources"], route_class=CacheFirstRoute)


@router.get("/landing-pages", responses=METRIC_RESPONSES)
def top_landing_pages(
    request: Request,
    ctx: ContextDep,
    r: SpanDep,
    filters: SessionFiltersDep,
    page: PageDep,
    sort: Annotated[
        LandingPageSort, Query(description="rank by, descending; ties by landing_page")
    ] = "sessions",
) -> LandingPageRanking:
    """Landing pages (a session's first page view) of the sessions that began in the range, with bounces.

    A session that viewed no page has no landing page and is not counted. There is no
    `product_category` filter (a session spans categories): sending one is a 422."""
    if "product_category" in request.query_params:
        raise ParamError("product_category", "sessions have no category")
    timer = Timer()
    answer = analytics.landing_pages(
        ctx.pinot, ctx.tables, r.start, r.end, filters, sort, page.limit, page.offset
    )
    rows = answer.rows
    return LandingPageRanking(
        meta=meta(r, timer, ctx, answer, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=[
            LandingPageRank(rank=page.offset + i + 1, bounce_rate=row["bounces"] / row["sessions"], **row)
            for i, row in enumerate(rows)
        ],
    )
