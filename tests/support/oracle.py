"""An independent computation of what the pipeline must serve, in plain Python, from the raw records.

It reads what is actually in the raw topic (payload, partition, offset, record timestamp) and applies
the documented rules: the event contract (core.events), the event-time bounds around the record
timestamp, first copy of an event_id wins, every accepted event counts in its minute and its session,
and an event is late when it is more than the watermark delay behind the newest valid event read
before it from its partition.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypeVar

from core.business_day import business_day
from core.contract import check, event_from
from core.dimensions import UNKNOWN, CustomerInfo, ProductInfo
from core.events import AddToCart, BaseEvent, PageView, ProductView, Purchase, to_epoch_millis
from core.metrics import (
    ActiveUsersMinute,
    ActiveUsersSliding,
    EnrichedProductEvent,
    ProductMinute,
    ReferrerWindow,
    SessionSummary,
    UserDay,
    Visit,
)
from core.referrers import referrer_host
from core.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class RawRecord:
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes | None


@dataclass
class Expected:
    dead_letters: set[tuple[int, int]] = field(default_factory=set)
    accepted: list[BaseEvent] = field(default_factory=list)
    late: set[str] = field(default_factory=set)  # event_ids of accepted events flagged late
    arrival_ms: dict[str, int] = field(default_factory=dict)  # event_id -> record timestamp of the copy kept
    dead_letter_arrival_ms: list[int] = field(default_factory=list)
    dead_letter_reasons: dict[tuple[int, int], tuple[str, str | None]] = field(default_factory=dict)
    """(partition, offset) -> (reason_code, reason_field)"""
    active_users: list[ActiveUsersMinute] = field(default_factory=list)
    active_users_sliding: list[ActiveUsersSliding] = field(default_factory=list)
    referrer_traffic: list[ReferrerWindow] = field(default_factory=list)
    product_metrics: list[ProductMinute] = field(default_factory=list)
    sessions: list[SessionSummary] = field(default_factory=list)
    user_days: list[UserDay] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    enriched_product_events: list[EnrichedProductEvent] = field(default_factory=list)
    """the live visits (superseded: false)"""


@dataclass(frozen=True)
class Dimensions:
    """The dimension versions sent to the job's dimension topics, in the order they were sent."""

    products: list[ProductInfo] = field(default_factory=list)
    customers: list[CustomerInfo] = field(default_factory=list)


def expected(records: list[RawRecord], settings: Settings, dimensions: Dimensions | None = None) -> Expected:
    out = Expected()
    seen: set[str] = set()
    newest: dict[int, int] = {}  # partition -> newest valid event time read so far
    delay_ms = settings.watermark_delay_s * 1000
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        verdict = check(
            r.value,
            r.timestamp_ms,
            naive_zone=settings.naive_timestamp_zone,
            max_lateness_ms=settings.max_lateness_s * 1000,
            max_future_ms=settings.max_future_s * 1000,
        )
        if not verdict.accepted:
            out.dead_letters.add((r.partition, r.offset))
            out.dead_letter_arrival_ms.append(r.timestamp_ms)
            out.dead_letter_reasons[(r.partition, r.offset)] = (str(verdict.code), verdict.field)
            continue
        event = event_from(verdict, settings.naive_timestamp_zone)
        ts = to_epoch_millis(event.event_timestamp)
        newest[r.partition] = max(newest.get(r.partition, ts), ts)
        if event.event_id in seen:  # copies share session_id, so partition: the lowest offset came first
            continue
        seen.add(event.event_id)
        out.accepted.append(event)
        out.arrival_ms[event.event_id] = r.timestamp_ms
        if ts < newest[r.partition] - delay_ms:
            out.late.add(event.event_id)
    out.active_users = _active_users(out.accepted)
    out.active_users_sliding = _active_users_sliding(out.accepted)
    out.referrer_traffic = _referrer_traffic(out.accepted)
    out.product_metrics = _products(out.accepted)
    out.sessions = _sessions(out.accepted)
    out.user_days = _user_days(out.accepted, settings.business_time_zone)
    out.visits = _visits(out.accepted)
    out.enriched_product_events = _enriched(out.accepted, dimensions or Dimensions())
    return out


def _minute(event: BaseEvent) -> int:
    ms = to_epoch_millis(event.event_timestamp)
    return ms - ms % 60_000


def _active_users(events: list[BaseEvent]) -> list[ActiveUsersMinute]:
    by_minute: dict[int, list[BaseEvent]] = defaultdict(list)
    for e in events:
        by_minute[_minute(e)].append(e)
    return [
        ActiveUsersMinute.model_validate(
            {
                "window_start": start,
                "window_end": start + 60_000,
                "active_users": len({e.user_id for e in group}),
                "sessions": len({e.session_id for e in group}),
                "events": len(group),
            }
        )
        for start, group in sorted(by_minute.items())
    ]


def _active_users_sliding(events: list[BaseEvent]) -> list[ActiveUsersSliding]:
    """Hopping windows: an event at t is in every window [s, s + size) with s a multiple of the slide."""
    size = int(ActiveUsersSliding.size.total_seconds() * 1000)
    slide = int(ActiveUsersSliding.slide.total_seconds() * 1000)
    by_start: dict[int, list[BaseEvent]] = defaultdict(list)
    for e in events:
        ms = to_epoch_millis(e.event_timestamp)
        newest = ms - ms % slide
        for start in range(newest, ms - size, -slide):
            by_start[start].append(e)
    return [
        ActiveUsersSliding.model_validate(
            {
                "window_start": start,
                "window_end": start + size,
                "active_users": len({e.user_id for e in group}),
                "sessions": len({e.session_id for e in group}),
                "events": len(group),
            }
        )
        for start, group in sorted(by_start.items())
    ]


def _referrer_traffic(events: list[BaseEvent]) -> list[ReferrerWindow]:
    """Page views per 5-minute window and referrer host (core.referrers.referrer_host, the rule)."""
    size = int(ReferrerWindow.size.total_seconds() * 1000)
    groups: dict[tuple[int, str], list[PageView]] = defaultdict(list)
    for e in events:
        if isinstance(e, PageView):
            ms = to_epoch_millis(e.event_timestamp)
            groups[(ms - ms % size, referrer_host(e.referrer_url))].append(e)
    return [
        ReferrerWindow.model_validate(
            {
                "window_start": start,
                "window_end": start + size,
                "referrer_host": host,
                "page_views": len(group),
                "sessions": len({e.session_id for e in group}),
            }
        )
        for (start, host), group in sorted(groups.items())
    ]


def _user_days(events: list[BaseEvent], zone: str) -> list[UserDay]:
    """Per business day (core.business_day, the rule) and user: the earliest event time and the events."""
    times: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in events:
        ms = to_epoch_millis(e.event_timestamp)
        times[(business_day(ms, zone), e.user_id)].append(ms)
    return [
        UserDay.model_validate({"business_day": day, "user_id": user, "first_seen": min(t), "events": len(t)})
        for (day, user), t in sorted(times.items())
    ]


def _visits(events: list[BaseEvent]) -> list[Visit]:
    """Each user's events in event-time order, a new visit wherever two are at least Visit.gap apart."""
    gap = int(Visit.gap.total_seconds() * 1000)
    by_user: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for e in events:
        by_user[e.user_id].append((to_epoch_millis(e.event_timestamp), isinstance(e, PageView)))
    rows: list[Visit] = []
    for user, seen in sorted(by_user.items()):
        visits: list[list[tuple[int, bool]]] = []
        for t, page_view in sorted(seen):
            if visits and t - visits[-1][-1][0] < gap:
                visits[-1].append((t, page_view))
            else:
                visits.append([(t, page_view)])
        rows.extend(
            Visit.model_validate(
                {
                    "user_id": user,
                    "visit_start": v[0][0],
                    "visit_end": v[-1][0],
                    "events": len(v),
                    "page_views": sum(pv for _, pv in v),
                    "superseded": False,
                    "version": len(v),
                }
            )
            for v in visits
        )
    return rows


def _valid_at(versions: list[tuple[int, T]], at: int) -> T | None:
    """The version valid at `at`: the newest from at or before it; of two from the same instant, the
    one sent last (`versions` in the order sent)."""
    valid = [(t, i) for i, (t, _) in enumerate(versions) if t <= at]
    return versions[max(valid)[1]][1] if valid else None


def _enriched(events: list[BaseEvent], dims: Dimensions) -> list[EnrichedProductEvent]:
    """Each product event with its product's brand and its customer's state and country as of its event
    time (core/dimensions.py); UNKNOWN without a version then."""
    products: dict[str, list[tuple[int, ProductInfo]]] = defaultdict(list)
    for p in dims.products:
        products[p.product_id].append((to_epoch_millis(p.updated_at), p))
    customers: dict[str, list[tuple[int, CustomerInfo]]] = defaultdict(list)
    for c in dims.customers:
        customers[c.user_id].append((to_epoch_millis(c.updated_at), c))
    rows = []
    for e in events:
        if not isinstance(e, ProductView | AddToCart | Purchase):
            continue
        at = to_epoch_millis(e.event_timestamp)
        product = _valid_at(products[e.product_id], at)
        customer = _valid_at(customers[e.user_id], at)
        rows.append(
            EnrichedProductEvent.model_validate(
                {
                    "event_id": e.event_id,
                    "event_type": e.event_type,
                    "event_timestamp": at,
                    "user_id": e.user_id,
                    "session_id": e.session_id,
                    "product_id": e.product_id,
                    "order_id": e.order_id if isinstance(e, Purchase) else None,
                    "quantity": e.quantity if isinstance(e, AddToCart | Purchase) else None,
                    "total_amount": e.total_amount if isinstance(e, Purchase) else None,
                    "brand": product.brand if product else UNKNOWN,
                    "customer_state": customer.state if customer else UNKNOWN,
                    "customer_country": customer.country if customer else UNKNOWN,
                }
            )
        )
    return rows


def _products(events: list[BaseEvent]) -> list[ProductMinute]:
    groups: dict[tuple[int, str], list[ProductView | AddToCart | Purchase]] = defaultdict(list)
    for e in events:
        if isinstance(e, ProductView | AddToCart | Purchase):
            groups[(_minute(e), e.product_id)].append(e)
    rows = []
    for (start, product_id), group in sorted(groups.items()):
        purchases = [e for e in group if isinstance(e, Purchase)]
        rows.append(
            ProductMinute.model_validate(
                {
                    "window_start": start,
                    "window_end": start + 60_000,
                    "product_id": product_id,
                    "product_name": max(e.product_name for e in group),
                    "product_category": max(e.product_category for e in group),
                    "events": len(group),
                    "views": sum(isinstance(e, ProductView) for e in group),
                    "add_to_carts": sum(isinstance(e, AddToCart) for e in group),
                    "purchases": len(purchases),
                    "units": sum(p.quantity for p in purchases),
                    "revenue": sum(p.total_amount for p in purchases),
                    "avg_price": sum(e.price for e in group) / len(group),
                }
            )
        )
    return rows


def _landing_page(session: list[BaseEvent]) -> str | None:
    """The URL of the earliest page view, ties by the smaller URL (Python compares by code point)."""
    views = [(to_epoch_millis(e.event_timestamp), e.page_url) for e in session if isinstance(e, PageView)]
    return min(views)[1] if views else None


def _sessions(events: list[BaseEvent]) -> list[SessionSummary]:
    groups: dict[str, list[BaseEvent]] = defaultdict(list)
    for e in events:
        groups[e.session_id].append(e)
    rows = []
    for session_id, group in sorted(groups.items()):
        purchases = [e for e in group if isinstance(e, Purchase)]
        times = [to_epoch_millis(e.event_timestamp) for e in group]
        rows.append(
            SessionSummary.model_validate(
                {
                    "session_id": session_id,
                    "user_id": max(e.user_id for e in group),
                    "device_type": max(str(e.device_type) for e in group),
                    "os": max(e.os for e in group),
                    "browser": max(e.browser for e in group),
                    "location": max(e.location for e in group),
                    "events": len(group),
                    "page_views": sum(isinstance(e, PageView) for e in group),
                    "landing_page": _landing_page(group),
                    "products_viewed": len({e.product_id for e in group if isinstance(e, ProductView)}),
                    "products_carted": len({e.product_id for e in group if isinstance(e, AddToCart)}),
                    "orders": len({p.order_id for p in purchases}),
                    "units": sum(p.quantity for p in purchases),
                    "revenue": sum(p.total_amount for p in purchases),
                    "first_event_time": min(times),
                    "last_event_time": max(times),
                }
            )
        )
    return rows
