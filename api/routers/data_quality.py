from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.cache_first import CacheFirstRoute
from api.common import Timer, meta, series
from api.deps import Context, ContextDep
from api.errors import METRIC_RESPONSES
from api.params import CompareDep, PageDep, RangeDep, SpanDep
from api.schemas import DeadLetterPage, DeadLetterRow, QualityPoint, QualitySeries
from api.timerange import TimeRange
from core.contract import Code
from query import analytics
from query.answer import Answer

router = APIRouter(prefix="/metrics", tags=["data quality"], route_class=CacheFirstRoute)
ZERO = {"accepted": 0, "late": 0, "dead_lettered": 0}


def _series(ctx: Context, r: TimeRange) -> Answer[list[QualityPoint]]:
    return series(r, lambda edges: analytics.data_quality(ctx.pinot, ctx.tables, edges), QualityPoint, ZERO)


@router.get("/data-quality", responses=METRIC_RESPONSES)
def data_quality(ctx: ContextDep, r: RangeDep, compare: CompareDep = None) -> QualitySeries:
    """Accepted, late and dead-lettered events per bucket of arrival time (the Kafka record time)."""
    timer = Timer()
    data = _series(ctx, r)
    previous = _series(ctx, r.previous()) if compare else None
    return QualitySeries(
        meta=meta(r, timer, ctx, data, previous),
        data=data.rows,
        previous=previous.rows if previous else None,
    )


letters = APIRouter(prefix="/metrics", tags=["data quality"])
"""Dead letters carry raw payloads (user ids): a router of their own, for the `sessions` scope."""


@letters.get("/dead-letters", responses=METRIC_RESPONSES)
def dead_letters(
    ctx: ContextDep,
    r: SpanDep,
    page: PageDep,
    reason_code: Annotated[Code | None, Query(description="only dead letters of this reason")] = None,
    payload_chars: Annotated[
        int, Query(ge=0, le=180_000, description="characters of each payload to return")
    ] = 2000,
) -> DeadLetterPage:
    """The dead letters that arrived in the range, newest first: where each record was and why it failed."""
    timer = Timer()
    code = reason_code.value if reason_code else None
    answer = analytics.dead_letters(ctx.pinot, ctx.tables, r.start, r.end, code, page.limit, page.offset)
    total, rows = answer.rows
    data = []
    for row in rows:
        payload = row["payload"]
        if row.get("payload_encoding") in (None, "null") and payload == "null":
            payload = None  # stored as Pinot's default for an absent value: an empty record
        data.append(
            DeadLetterRow(
                source_partition=int(row["source_partition"]),
                source_offset=int(row["source_offset"]),
                source_timestamp=int(row["source_timestamp"]),
                reason=row["reason"],
                reason_code=row["reason_code"],
                reason_field=None if row["reason_field"] in (None, "null") else row["reason_field"],
                payload=None if payload is None else payload[:payload_chars],
                payload_truncated=payload is not None and len(payload) > payload_chars,
                payload_encoding=None
                if row["payload_encoding"] in (None, "null")
                else row["payload_encoding"],
                payload_bytes=None if row["payload_bytes"] is None else int(row["payload_bytes"]),
            )
        )
    return DeadLetterPage(
        meta=meta(r, timer, ctx, answer, series=False),
        total=total,
        limit=page.limit,
        offset=page.offset,
        data=data,
    )
