"""Response models. Metric fields reuse the core models' descriptions, so the OpenAPI text and the
pipeline's own documentation agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from core.metrics import (
    ActiveUsersSliding,
    DeadLetter,
    EnrichedProductEvent,
    ProductMinute,
    ReferrerWindow,
    SessionSummary,
    UserDay,
)


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


class SlidingActiveUsersPoint(BaseModel):
    bucket: Instant = Field(description="start of the 5-minute window, local time of `tz`")
    window_end: Instant = Field(description=_doc(ActiveUsersSliding, "window_end"))
    active_users: int = Field(description=_doc(ActiveUsersSliding, "active_users"))
    sessions: int = Field(description=_doc(ActiveUsersSliding, "sessions"))
    events: int = Field(description="accepted events in the window")


class SlidingActiveUsersSeries(Series[SlidingActiveUsersPoint]):
    pass


class VisitsPoint(BaseModel):
    bucket: Instant = Field(description="start of the bucket, local time of `tz`")
    visits: int = Field(description="visits that started in the bucket (core.metrics.Visit)")
    bounces: int = Field(description="those visits with exactly one page view")
    bounce_rate: float | None = Field(description="bounces / visits; null without visits")
    avg_duration_s: float | None = Field(
        description="mean seconds from a visit's first to its last event (0 for one event); null without "
        "visits"
    )
    pages_per_visit: float | None = Field(description="page views / visits; null without visits")


class VisitsSeries(Series[VisitsPoint]):
    pass


class RetentionPoint(BaseModel):
    period: int = Field(description="periods after the cohort's own (0: the cohort's period)")
    active: int = Field(description="the cohort's users with an event in that period")
    share: float = Field(description="active / the cohort's users, 0 to 1")


class Cohort(BaseModel):
    cohort: str = Field(
        description="the period of the users' first event: a business day, or the Monday of its week"
    )
    users: int = Field(description="users whose first event is in that period")
    retention: list[RetentionPoint] = Field(description="period 0, 1, ... up to the range's last period")


class Retention(BaseModel):
    meta: Meta
    period: str
    business_time_zone: str = Field(description="the zone whose days the periods are made of (settings)")
    complete: bool = Field(
        description="false when the users or their active days exceeded what one Pinot query reads "
        "(100,000): the shares are then approximate"
    )
    cohorts: list[Cohort]


class DayToDatePoint(BaseModel):
    bucket: Instant = Field(description="start of the minute, local time of `tz`")
    business_day: str = Field(description=_doc(UserDay, "business_day"))
    users: int = Field(description="distinct users since the start of the business day, to the minute's end")
    new_users: int = Field(description="users whose first event of the business day is in this minute")
    revenue: float = Field(description="revenue since the start of the business day, to the minute's end")


class DayToDateSeries(Series[DayToDatePoint]):
    business_time_zone: str = Field(description="the zone whose days the totals restart on (settings)")


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


class Totals(BaseModel):
    """Totals over a range (the dashboard's KPI tiles and the reference Kibana metrics)."""

    events: int = Field(description="accepted events")
    page_views: int
    product_views: int
    add_to_carts: int
    purchases: int = Field(description="purchase events (order lines)")
    orders: int = Field(description="distinct order_id")
    units: int = Field(description="SUM(quantity) of purchases")
    revenue: float = Field(description="SUM(total_amount) of purchases")
    active_users: int = Field(description="COUNT(DISTINCT user_id) over the whole range")
    sessions: int = Field(description="COUNT(DISTINCT session_id) over the whole range")
    customers: int = Field(description="COUNT(DISTINCT user_id) of purchases")
    unique_products_viewed: int = Field(description="COUNT(DISTINCT product_id) of product views")
    average_sale_price: float | None = Field(description="revenue / units: the mean price paid per unit sold")
    average_order_value: float | None = Field(description="revenue / orders")
    conversion: float | None = Field(
        description="sessions with a purchase / sessions with a product view (as the funnel's overall)"
    )


class Summary(BaseModel):
    meta: Meta
    data: Totals
    previous: Totals | None = Field(
        default=None, description="the period just before (compare=previous_period)"
    )


class EventTypesPoint(BaseModel):
    bucket: Instant = Field(description="start of the bucket, local time of `tz`")
    page_view: int
    product_view: int
    add_to_cart: int
    purchase: int
    events: int = Field(description="all accepted events in the bucket")


class EventTypesSeries(Series[EventTypesPoint]):
    pass


class CategoryRank(BaseModel):
    rank: int
    product_category: str
    products: int = Field(description="distinct products of the category with events in the range")
    views: int
    add_to_carts: int
    purchases: int
    units: int
    revenue: float


class CategoryRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    data: list[CategoryRank]


class ReferrerRank(BaseModel):
    rank: int
    referrer_host: str = Field(description=_doc(ReferrerWindow, "referrer_host"))
    page_views: int = Field(description="page views in the range's 5-minute windows")
    sessions: int = Field(
        description="distinct sessions per 5-minute window, summed over the windows (a session with page "
        "views from this host in two windows counts in each)"
    )


class ReferrerRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    data: list[ReferrerRank]


class LandingPageRank(BaseModel):
    rank: int
    landing_page: str = Field(description=_doc(SessionSummary, "landing_page"))
    sessions: int = Field(description="sessions that began in the range and landed on this page")
    bounces: int = Field(description="those sessions that viewed no other page (one page view)")
    bounce_rate: float = Field(description="bounces / sessions, 0 to 1")


class LandingPageRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    data: list[LandingPageRank]


class BrandRank(BaseModel):
    rank: int
    brand: str = Field(description=_doc(EnrichedProductEvent, "brand"))
    views: int
    add_to_carts: int
    purchases: int = Field(description="purchase events (order lines)")
    units: int
    revenue: float
    viewing_sessions: int = Field(description="sessions that viewed one of the brand's products")
    buying_sessions: int = Field(description="sessions that bought one of the brand's products")
    conversion: float | None = Field(description="buying / viewing sessions; null without a viewing session")


class BrandRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    data: list[BrandRank]


class RegionRank(BaseModel):
    rank: int
    country: str = Field(description=_doc(EnrichedProductEvent, "customer_country"))
    state: str = Field(description=_doc(EnrichedProductEvent, "customer_state"))
    customers: int = Field(description="distinct customers who bought in the range")
    orders: int = Field(description="distinct order_id")
    revenue: float


class RegionRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    complete: bool = Field(description="false when more (country, state) pairs bought than Pinot groups")
    data: list[RegionRank]


class DeadLetterRow(BaseModel):
    source_partition: int
    source_offset: int
    source_timestamp: int = Field(description="the Kafka record timestamp (epoch ms)")
    reason: str = Field(description=_doc(DeadLetter, "reason"))
    reason_code: str = Field(description=_doc(DeadLetter, "reason_code"))
    reason_field: str | None = Field(description=_doc(DeadLetter, "reason_field"))
    payload: str | None = Field(
        description="the payload as stored (see payload_encoding), cut to `payload_chars`"
    )
    payload_truncated: bool = Field(
        description="whether `payload` was cut (`rta tail` shows the whole record)"
    )
    payload_encoding: str | None = Field(description=_doc(DeadLetter, "payload_encoding"))
    payload_bytes: int | None = Field(description=_doc(DeadLetter, "payload_bytes"))


class DeadLetterPage(BaseModel):
    meta: Meta
    total: int = Field(description="dead letters in the range (with the reason_code filter), over all pages")
    limit: int
    offset: int
    data: list[DeadLetterRow] = Field(description="newest first (by arrival), then by partition and offset")


class HourOfDay(BaseModel):
    hour: int = Field(ge=0, le=23, description="local hour of `tz`, 0-23")
    page_views: int


class HourOfDayProfile(BaseModel):
    meta: Meta
    data: list[HourOfDay] = Field(description="24 rows, hour 0 to 23, zeros included")


class LocationRank(BaseModel):
    rank: int
    location: str
    users: int = Field(description="distinct users with any event there")
    customers: int = Field(description="distinct users with a purchase there")
    orders: int = Field(description="distinct order_id")
    revenue: float


class LocationRanking(BaseModel):
    meta: Meta
    sort: str
    limit: int
    offset: int
    data: list[LocationRank]


class OrderCount(BaseModel):
    orders: int = Field(ge=1, description="orders placed in the range")
    customers: int = Field(description="customers who placed exactly that many")


class OrderFrequency(BaseModel):
    meta: Meta
    customers: int = Field(description="customers with at least one order in the range")
    complete: bool = Field(description="false when more customers bought than Pinot groups (100,000)")
    data: list[OrderCount] = Field(description="orders = 1 .. the most any customer placed, zeros included")


class Dimensions(BaseModel):
    """Values seen in the range, for filter pickers (at most `limit` per dimension, sorted)."""

    meta: Meta
    device_type: list[str]
    os: list[str]
    browser: list[str]
    location: list[str]
    product_category: list[str]


class LivePoint(BaseModel):
    bucket: Instant = Field(description="start of the minute (UTC)")
    final: bool = Field(description="the watermark has passed the minute's end: no more updates expected")
    active_users: int
    sessions: int
    events: int
    page_view: int
    product_view: int
    add_to_cart: int
    purchase: int
    revenue: float
    orders: int
    accepted: int = Field(description="events that arrived in the minute (Kafka record time)")
    late: int
    dead_lettered: int


class LiveSnapshot(BaseModel):
    """One push of `/metrics/stream`: the newest minutes and how fresh they are."""

    generated_at: Instant
    as_of: Instant | None = Field(description="end of the newest closed minute (as in every route's meta)")
    behind_s: float | None = Field(description="seconds between as_of and generated_at")
    newest_event: Instant | None = Field(description="the newest event time queryable")
    data: list[LivePoint] = Field(description="the newest minutes, oldest first; the last may be open")


class PartitionState(BaseModel):
    partition: int
    start_offset: int = Field(description="the oldest retained offset")
    end_offset: int = Field(description="the next offset to be written")
    lag: dict[str, int] = Field(description="consumer group -> records behind end_offset (committed offsets)")


class TopicState(BaseModel):
    topic: str
    partitions: list[PartitionState]


class Topics(BaseModel):
    bootstrap: str
    data: list[TopicState]


class TopicRecord(BaseModel):
    partition: int
    offset: int
    timestamp: int | None = Field(description="the record timestamp (epoch ms)")
    key: str | None
    value: str = Field(description="the value, pretty-printed when it is JSON")


class TopicRecords(BaseModel):
    topic: str
    data: list[TopicRecord] = Field(description="the newest committed records of each partition")


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check]


class Health(BaseModel):
    status: str
    version: str


AlertStatus = Literal["firing", "resolved"]


class Alert(BaseModel):
    """One firing of an alert rule, from the evaluation that found its condition true to the one that found
    it false."""

    dedup_key: str = Field(
        description="`<rule>:<started_at epoch ms>`: the same for this firing's `firing` and `resolved` "
        "posts and for every retry; a receiver drops a (dedup_key, status) it has seen"
    )
    rule: str = Field(description="the rule that fired (see `rules`)")
    status: AlertStatus
    started_at: Instant = Field(description="the evaluation that found the condition true")
    resolved_at: Instant | None = Field(description="the evaluation that found it false; null while firing")
    value: float | None = Field(
        description="the rule's value at the newest evaluation (at resolution, once resolved)"
    )
    threshold: float = Field(description="the threshold setting in force when the alert changed")
    summary: str = Field(description="the condition in words, with its numbers")


class AlertNotice(Alert):
    """The body POSTed to the alert webhook on each change (the same change may come again: at least once)."""

    sent_at: Instant = Field(description="this attempt (a retry of the same change has a later one)")


class AlertRule(BaseModel):
    """A rule and its newest evaluation."""

    rule: str
    description: str = Field(description="what the rule reads, its value's unit and when it fires")
    setting: str = Field(
        description="the setting holding its threshold (environment: RTA_ + its name in capitals)"
    )
    threshold: float = Field(description="0: the rule is off")
    state: Literal["ok", "firing", "no_data", "error", "off", "pending"] = Field(
        description="the newest evaluation: condition false / true; too little data to judge or a source did "
        "not answer (either way the alert keeps its state); the rule is off; not evaluated yet"
    )
    value: float | None = Field(description="the value the newest evaluation read (null: none)")
    detail: str | None = Field(description="the reading in words, or why it could not be read")
    evaluated_at: Instant | None


class WebhookState(BaseModel):
    configured: bool = Field(description="whether RTA_ALERT_WEBHOOK_URL is set (the URL is not shown)")
    pending: int = Field(description="changes not yet acknowledged with a 2xx (kept across restarts)")
    delivered: int = Field(description="posts acknowledged since the API started")
    last_error: str | None = Field(description="why the newest failed attempt failed; null after a success")


class Alerts(BaseModel):
    """The alert rules' newest evaluation, and the alerts: firing first, then resolved, newest first."""

    evaluated_at: Instant | None = Field(description="the newest evaluation round (null: none yet)")
    interval_s: float = Field(description="how often the rules are evaluated (0: never)")
    rules: list[AlertRule]
    webhook: WebhookState
    data: list[Alert]
