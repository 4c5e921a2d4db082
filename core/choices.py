"""What a caller may choose among, written once: sort keys, breakdowns and the funnel's steps.

The API's query parameters are typed with these `Literal`s (so OpenAPI lists them and a wrong value is a
422 naming the parameter), the query layer checks its SQL identifiers against `choices(...)` of the same
types, and a unit test keeps the dashboard's menus equal to them.
"""

from __future__ import annotations

from typing import Any, Final, Literal, get_args

ProductSort = Literal["views", "add_to_carts", "purchases", "units", "revenue"]
"""Columns of product_metrics (core.metrics.ProductMinute) a product ranking can sort by."""
CategorySort = Literal["revenue", "views", "add_to_carts", "purchases", "units"]
"""Sums over a category's products a category ranking can sort by."""
SessionSort = Literal["last_event_time", "first_event_time", "events", "revenue", "orders"]
"""Columns of session_metrics (core.metrics.SessionSummary) a session list can sort by."""
LocationSort = Literal["revenue", "users", "customers", "orders"]
"""Per-location aggregates a location ranking can sort by."""
ReferrerSort = Literal["page_views", "sessions"]
"""Sums over a referrer host's 5-minute windows a referrer ranking can sort by."""
LandingPageSort = Literal["sessions", "bounces"]
"""Counts over the sessions that landed on a page a landing-page ranking can sort by."""
RetentionPeriod = Literal["day", "week"]
"""The period of a retention cohort: a business day, or a week of them starting on Monday (ISO 8601)."""
BrandSort = Literal["revenue", "views", "purchases", "conversion"]
"""Per-brand totals a brand ranking can sort by."""
RegionSort = Literal["revenue", "customers", "orders"]
"""Per-state totals of purchases a region ranking can sort by."""
FunnelBreakdown = Literal["device_type", "product_category"]
"""Event columns a funnel can be split by (one segment per value)."""

FUNNEL_STEPS: Final = (("product_view", "viewed"), ("add_to_cart", "carted"), ("purchase", "purchased"))
"""(event type, past participle) per funnel step, in order: a session reaches a step with one event of
its type."""


def choices(literal: Any) -> tuple[str, ...]:
    """The values of one of the Literal types above, in declaration order."""
    return tuple(str(v) for v in get_args(literal))
