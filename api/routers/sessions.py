from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta
from api.deps import ContextDep, PinotDep, TablesDep
from api.errors import METRIC_RESPONSES, NOT_FOUND, NotFound
from api.params import TEXT_PATTERN, PageDep, SessionFiltersDep, SpanDep
from api.routers.products import ID_PATTERN
from api.schemas import Session, SessionPage
from api.timerange import ParamError
from core.choices import SessionSort
from query import analytics

router = APIRouter(prefix="/metrics/sessions", tags=["sessions"], route_class=CacheFirstRoute)
Identifier = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]


@router.get("", responses=METRIC_RESPONSES)
def list_sessions(
    request: Request,
    ctx: ContextDep,
    r: SpanDep,
    filters: SessionFiltersDep,
    page: PageDep,
    user_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=TEXT_PATTERN)] = None,
    sort: Annotated[
        SessionSort,
        Query(description="sorted descending; ties by session_id"),
    ] = "last_event_time",
) -> SessionPage:
    """Sessions active in the range (optionally one user's), sorted and paged.

    There is no `product_category` filter (a session spans categories): sending one is a 422."""
    if "product_category" in request.query_params:
        raise ParamError("product_category", "sessions have no category")
    timer = Timer()
    answer = analytics.sessions(
        ctx.pinot, ctx.tables, r.start, r.end, filters, user_id, sort, page.limit, page.offset
    )
    total, rows = answer.rows
    return SessionPage(
        meta=meta(r, timer, ctx, answer, series=False),
        total=total,
        limit=page.limit,
        offset=page.offset,
        data=[Session.model_validate(row) for row in rows],
    )


@router.get("/{session_id}", responses={**NOT_FOUND, **METRIC_RESPONSES})
def get_session(pinot: PinotDep, tables: TablesDep, session_id: Identifier) -> Session:
    """One session's summary so far: events, page views, products viewed and carted, orders, revenue.

    404 when no session has this id."""
    row = analytics.session(pinot, tables, session_id).rows
    if row is None:
        raise NotFound("session_id", "no session of this id")
    return Session.model_validate(row)
