"""Rows the Flink job writes and Pinot serves: one model per output topic / table.

Each model names its primary key: the Kafka message key, the Flink sink's PRIMARY KEY and the Pinot
table's primaryKeyColumns. A replayed or updated row carries the same key, so it replaces the earlier
row instead of being counted again.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.columns import Int64
from core.events import EpochMillis, Id

Count = Annotated[int, Field(ge=0), Int64]
Amount = Annotated[float, Field(ge=0)]


class MetricRow(BaseModel):
    model_config = ConfigDict(frozen=True)
    primary_key: ClassVar[tuple[str, ...]]


class ActiveUsersMinute(MetricRow):
    """Distinct users, sessions and events in one 1-minute event-time window."""

    primary_key = ("window_start",)

    window_start: EpochMillis
    window_end: EpochMillis
    active_users: Count = Field(description="COUNT(DISTINCT user_id)")
    sessions: Count = Field(description="COUNT(DISTINCT session_id)")
    events: Count = Field(description="grows with every update of the row: Pinot keeps the largest")


class ActiveUsersSliding(MetricRow):
    """Distinct users, sessions and events in a 5-minute event-time window advancing every minute (HOP)."""

    primary_key = ("window_start",)
    size: ClassVar[timedelta] = timedelta(minutes=5)
    """The window's length (flink_jobs/sql/view_sliding_events.sql says the same; a test checks)."""
    slide: ClassVar[timedelta] = timedelta(minutes=1)

    window_start: EpochMillis
    window_end: EpochMillis = Field(description="window_start + 5 minutes")
    active_users: Count = Field(description="COUNT(DISTINCT user_id) over the 5 minutes")
    sessions: Count = Field(description="COUNT(DISTINCT session_id) over the 5 minutes")
    events: Count = Field(description="grows with every update of the row: Pinot keeps the largest")


class ReferrerWindow(MetricRow):
    """Page views and sessions from one referrer host in one 5-minute event-time window (TUMBLE)."""

    primary_key = ("window_start", "referrer_host")
    size: ClassVar[timedelta] = timedelta(minutes=5)

    window_start: EpochMillis
    window_end: EpochMillis = Field(description="window_start + 5 minutes")
    referrer_host: Annotated[str, Field(max_length=512)] = Field(
        description="the referrer's host, 'direct' or 'internal' (core/referrers.py); at most as long as "
        "the referrer_url it comes from"
    )
    page_views: Count = Field(description="page views; grows with every update of the row")
    sessions: Count = Field(description="COUNT(DISTINCT session_id) of those page views")


class UserDay(MetricRow):
    """A user's first event of a business day (RTA_BUSINESS_TIME_ZONE): what running distinct users count."""

    primary_key = ("business_day", "user_id")

    business_day: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] = Field(
        description="the date in the business time zone (core/business_day.py), YYYY-MM-DD"
    )
    user_id: Id
    first_seen: EpochMillis = Field(description="the event time of the user's earliest event that day")
    events: Count = Field(description="the user's events that day; grows with every update of the row")


class Visit(MetricRow):
    """A user's visit: their events split by 30 minutes of inactivity (a session window), by event time."""

    primary_key = ("user_id", "visit_start")
    gap: ClassVar[timedelta] = timedelta(minutes=30)
    """Events less than this apart are one visit; a visit ends at its last event (Flink's SESSION window)."""

    user_id: Id
    visit_start: EpochMillis = Field(description="the event time of the visit's first event")
    visit_end: EpochMillis = Field(description="the event time of the visit's last event")
    events: Count
    page_views: Count
    superseded: bool = Field(
        description="true once a late event merged this visit into another or moved its start: the row "
        "is kept (Pinot cannot delete an upserted row) and every query leaves it out"
    )
    version: Count = Field(description="grows with every update of the row: Pinot keeps the largest")


class EnrichedProductEvent(MetricRow):
    """A product event with its product's brand and its customer's state and country at its event time."""

    primary_key = ("event_id",)

    event_id: Id
    event_type: Annotated[str, Field(max_length=16)]
    event_timestamp: EpochMillis
    user_id: Id
    session_id: Id
    product_id: Id
    order_id: Id | None = Field(default=None, description="purchases only")
    quantity: Annotated[int, Field(ge=1)] | None = Field(default=None, description="carts and purchases")
    total_amount: Amount | None = Field(default=None, description="purchases only")
    brand: Annotated[str, Field(max_length=64)] = Field(
        description="the product's brand at the event's time (core/dimensions.py), or 'unknown'"
    )
    customer_state: Annotated[str, Field(max_length=64)] = Field(
        description="the customer's state at the event's time, or 'unknown'"
    )
    customer_country: Annotated[str, Field(max_length=64)] = Field(
        description="the customer's country (ISO 3166-1 alpha-2) at the event's time, or 'unknown'"
    )


class ProductMinute(MetricRow):
    """One product's activity in one 1-minute event-time window."""

    primary_key = ("window_start", "product_id")

    window_start: EpochMillis
    window_end: EpochMillis
    product_id: str
    product_name: str
    product_category: str
    events: Count = Field(description="all of the product's events; grows with every update of the row")
    views: Count
    add_to_carts: Count
    purchases: Count = Field(description="purchase events (order lines)")
    units: Count = Field(description="SUM(quantity) of purchases")
    revenue: Amount = Field(description="SUM(total_amount) of purchases")
    avg_price: Amount = Field(description="AVG(price) over the product's events in the window")


class SessionSummary(MetricRow):
    """A shopping session so far: updated as its events arrive (an upsert row keyed by session_id)."""

    primary_key = ("session_id",)

    session_id: str
    user_id: str
    device_type: str
    os: str
    browser: str
    location: str
    events: Count
    page_views: Count
    landing_page: Annotated[str, Field(max_length=512)] | None = Field(
        default=None,
        description="the page_url of the session's earliest page view by event time (ties: the "
        "smallest URL); null while the session has no page view",
    )
    products_viewed: Count = Field(description="distinct products viewed")
    products_carted: Count = Field(description="distinct products added to cart")
    orders: Count = Field(description="distinct order_id")
    units: Count
    revenue: Amount
    first_event_time: EpochMillis
    last_event_time: EpochMillis

    @model_validator(mode="before")
    @classmethod
    def _no_landing_page_without_page_views(cls, data: Any) -> Any:
        """A session with no page view has no landing page, whatever a store fills an absent value with
        (Pinot 0.11 reads back the text "null", which is also a valid page_url)."""
        if isinstance(data, dict) and data.get("page_views") == 0 and data.get("landing_page") is not None:
            return {**data, "landing_page": None}
        return data


class DeadLetter(MetricRow):
    """An input record that failed validation: where it was, why, and its payload as received.

    The raw topic keeps the record itself at (source_partition, source_offset) for its retention.
    """

    primary_key = ("source_partition", "source_offset")

    source_partition: int
    source_offset: Annotated[int, Int64]
    source_timestamp: EpochMillis = Field(description="the Kafka record timestamp")
    reason: str = Field(description="the first rule the record broke, in words (core/contract.py)")
    reason_code: str = Field(description="the reason's class: core.contract.Code")
    reason_field: str | None = Field(default=None, description="the event field the reason is about")
    payload: Annotated[str, Field(max_length=90_000)] | None = Field(
        default=None,
        description="the payload: its text when UTF-8 without NUL, else base64 (of at most the first "
        "64 KiB); null for an empty record",
    )
    payload_encoding: str | None = Field(default=None, description="'utf-8' or 'base64'")
    payload_bytes: int | None = Field(default=None, description="the payload's size in bytes")


class Acceptance(MetricRow):
    """Columns the job adds to every accepted event (the events table is the event models plus these)."""

    primary_key = ("event_id",)

    is_late: bool = Field(description="event time at or behind the watermark when the event arrived")
    ingest_time: EpochMillis = Field(description="the Kafka record timestamp of the raw event")
