from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import PageDep, SpanDep
from api.schemas import ReferrerRank, ReferrerRanking
from api.timerange import TimeRange
from core.choices import ReferrerSort
from core.metrics import ReferrerWindow
from query import analytics

router = APIRouter(prefix="/metrics", tags=["traffic sources"], route_class=CacheFirstRoute)
WINDOW_MS = int(ReferrerWindow.size.total_seconds() * 1000)


def whole_windows(r: TimeRange) -> TimeRange:
    """The range widened to whole 5-minute windows (UTC-aligned, which every zone's offset keeps: all
    offsets in use are whole multiples of 5 minutes)."""
    start = r.start_ms - r.start_ms % WINDOW_MS
    end = r.end_ms + (-r.end_ms) % WINDOW_MS
    return replace(r, start_ms=start, end_ms=end)


@router.get("/referrers", responses=METRIC_RESPONSES)
def top_referrers(
    ctx: ContextDep,
    r: SpanDep,
    page: PageDep,
    sort: Annotated[
        ReferrerSort, Query(description="rank by, descending; ties by referrer_host")
    ] = "page_views",
) -> ReferrerRanking:
    """Referrer hosts ranked by page views or sessions over the range, widened to whole 5-minute windows.

    No referrer counts as "direct", a path on this site as "internal"."""
    timer = Timer()
    windows = whole_windows(r)
    answer = analytics.top_referrers(
        ctx.pinot, ctx.tables, windows.start, windows.end, sort, page.limit, page.offset
    )
    rows = answer.rows
    return ReferrerRanking(
        meta=meta(windows, timer, ctx, answer, series=False),
        sort=sort,
        limit=page.limit,
        offset=page.offset,
        data=[ReferrerRank(rank=page.offset + i + 1, **row) for i, row in enumerate(rows)],
    )
