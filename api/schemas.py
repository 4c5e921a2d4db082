"""Response models. Metric fields reuse the core models' descriptions, so the OpenAPI text and the
pipeline's own documentation agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from core.metrics import ProductMinute, SessionSummary


def _doc(model: type[BaseModel], name: str) -> str | None:
    return model.model_fields[name].description


def _rfc3339(t: datetime) -> str:
    """ISO-8601 / RFC 3339 in the time's own offset (`Z` for UTC); in UTC when the offset has seconds
    (some zones before 1972), which RFC 3339 cannot write."""
    offset = t.utcoffset()
    if offset is None or offset % timedelta(minutes=1):
        t = t.astimezone(UTC)
    text = t.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


Instant = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A point in time, written in the request's time zone."""


class Meta(BaseModel):
    """What was served: the range, how fresh it is, how long it took."""

    model_config = ConfigDict(populate_by_name=True)

    from_: Instant = Field(
        validation_alias=AliasChoices("from", "from_"),
        serialization_alias="from",
        description="start of the first bucket (inclusive)",
    )
    to: Instant = Field(description="end of the last bucket (exclusive)")
    granularity: str | None = None
    tz: str
    as_of: Instant | None = Field(
        description="end of the newest closed minute: newest event time queryable minus the watermark delay"
    )
    newest_bucket_final: bool | None = Field(
        default=None,
        description="whether the newest bucket ends at or before as_of (no more updates expected)",
    )
    query_ms: float = Field(description="time spent answering, in milliseconds")
    source: str = Field(description="the Pinot table(s) the numbers come from")


PointT = TypeVar("PointT", bound=BaseModel)


class Series(BaseModel, Generic[PointT]):
    """A gap-filled series: one point per bucket of the range."""

    meta: Meta
    data: list[PointT]
    previous: list[PointT] | None = Field(
        default=None, description="the period just before, bucket for bucket (compare=previous_period)"
    )


class ActiveUsersPoint(BaseModel):
    bucket: Instant = Field(description="start of the bucket, local time of `tz`")
    active_users: int = Field(description="COUNT(DISTINCT user_id) in the bucket")
    sessions: int = Field(description="COUNT(DISTINCT session_id) in the bucket")
    events: int = Field(description="accepted events in the bucket")


class ActiveUsersSeries(Series[ActiveUsersPoint]):
    pass


class ProductTotals(BaseModel):
    views: int = Field(description=_doc(ProductMinute, "views"))
    add_to_carts: int
    purchases: int = Field(description=_doc(ProductMinute, "purchases"))
    units: int = Field(description=_doc(ProductMinute, "units"))
    revenue: float = Field(description=_doc(ProductMinute, "revenue"))
    avg_price: float | None = Field(description="AVG(price) over the product's events in the range")


class ProductRank(ProductTotals):
    rank: int
    product_id: str
    product_name: str
    product_category: str
    previous: ProductTotals | None = Field(default=None, description="compare=previous_period")


class ProductRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    data: list[ProductRank]


class ProductPoint(ProductTotals):
    bucket: Instant = Field(description="start of the bucket, local time of `tz`")


class ProductSeries(Series[ProductPoint]):
    product_id: str
    product_name: str
    product_category: str


class Session(SessionSummary):
    """A session's summary as served (times as epoch milliseconds, like the events)."""


class SessionPage(BaseModel):
    meta: Meta
    total: int = Field(description="sessions matching the filters, over all pages")
    limit: int
    offset: int
    data: list[Session]


class RevenuePoint(BaseModel):
    bucket: Instant = Field(description="start of the bucket, local time of `tz`")
    revenue: float = Field(description="SUM(total_amount) of purchases")
    orders: int = Field(description="distinct order_id with a purchase line in the bucket")
    units: int
    average_order_value: float | None = Field(description="revenue / orders; null without orders")


class RevenueSeries(Series[RevenuePoint]):
    pass


class FunnelStep(BaseModel):
    step: str
    events: int
    sessions: int = Field(description="distinct sessions with at least one event of this step")
    conversion_from_previous: float | None = Field(description="sessions / sessions of the step before")


class FunnelSegment(BaseModel):
    segment: str = Field(description="the breakdown value, or 'all'")
    steps: list[FunnelStep]
    overall_conversion: float | None = Field(description="purchasing sessions / viewing sessions")


class Funnel(BaseModel):
    meta: Meta
    breakdown: str | None
    data: list[FunnelSegment]
    previous: list[FunnelSegment] | None = None


class QualityPoint(BaseModel):
    bucket: Instant = Field(description="start of the bucket, local time of `tz`")
    accepted: int = Field(description="valid, first-seen events that arrived in the bucket")
    late: int = Field(description="of which late (see docs/pipeline.md)")
    dead_lettered: int = Field(description="records rejected to the dead-letter topic")


class QualitySeries(Series[QualityPoint]):
    pass


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check]


class Health(BaseModel):
    status: str
    version: str
