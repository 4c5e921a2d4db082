from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query

from api.common import Timer, meta
from api.deps import ContextDep, PinotDep, TablesDep
from api.params import FiltersDep, PageDep, RangeDep
from api.schemas import Session, SessionPage
from query import analytics

router = APIRouter(prefix="/metrics/sessions", tags=["sessions"])
Identifier = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")]


@router.get("")
def list_sessions(
    ctx: ContextDep,
    r: RangeDep,
    filters: FiltersDep,
    page: PageDep,
    user_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")] = None,
    sort: Annotated[
        Literal["last_event_time", "first_event_time", "events", "revenue", "orders"],
        Query(description="sorted descending"),
    ] = "last_event_time",
) -> SessionPage:
    """Sessions active in the range (optionally one user's), sorted and paged."""
    if filters.product_category is not None:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "product_category"],
                    "msg": "sessions have no category",
                    "type": "value_error",
                }
            ],
        )
    timer = Timer()
    total, rows = analytics.sessions(
        ctx.pinot, ctx.tables, r.start, r.end, filters, user_id, sort, page.limit, page.offset
    )
    return SessionPage(
        meta=meta(r, timer, ctx.tables.session_metrics, ctx, series=False),
        total=total,
        limit=page.limit,
        offset=page.offset,
        data=[Session.model_validate(row) for row in rows],
    )


@router.get("/{session_id}")
def get_session(pinot: PinotDep, tables: TablesDep, session_id: Identifier) -> Session:
    """One session's summary so far: events, page views, products viewed and carted, orders, revenue."""
    row = analytics.session(pinot, tables, session_id)
    if row is None:
        raise HTTPException(404, f"no session {session_id!r}")
    return Session.model_validate(row)
