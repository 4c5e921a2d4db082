"""Query parameters shared by the metric routes, as typed dependencies.

Each parameter's OpenAPI schema says exactly what it accepts (patterns, the zone list, bounds): a value
the schema allows is answered with a 2xx, one it does not is a 422 naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query

from api.deps import NowDep
from api.timerange import INSTANT_PATTERN, MAX_BUCKETS, ZONES, Granularity, TimeRange, time_range
from query.analytics import Filters

TEXT_PATTERN = r"^[^\x00-\x1f]*$"
Dimension = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=TEXT_PATTERN,
        description="equality filter; matches rows whose value is exactly this text (an absent value "
        "matches nothing: `null` matches the text 'null' only)",
    ),
]
_INSTANT_DOC = (
    "'now', relative to now (-15m, -2h, -7d, -1w: s/m/h/d/w, up to 6 digits), a date (YYYY-MM-DD: local "
    "midnight) or an ISO-8601 date-time with an optional Z / ±hh:mm offset (without one it is read in "
    "`tz`; a repeated local time is the earlier one). Instants are clamped to [2000-01-01T00:00Z, "
    "2070-01-01T00:00Z], the span events can have."
)
From = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=INSTANT_PATTERN,
        description=f"start of the range, rounded down to a bucket start: {_INSTANT_DOC} "
        "Default: `to` minus 1 hour (granularity minute), 1 day (hour) or 7 days (day). "
        "A range whose `from` is not before `to` is empty.",
    ),
]
To = Annotated[
    str | None,
    Query(
        pattern=INSTANT_PATTERN,
        description=f"end of the range, rounded up to a bucket start (the open bucket is included): "
        f"{_INSTANT_DOC} Default: now.",
    ),
]
Tz = Annotated[
    str,
    Query(
        description="IANA time zone for bucket boundaries and for times without an offset; buckets follow "
        "its local midnights / hours, DST changes included",
        json_schema_extra={"enum": list(ZONES)},
    ),
]
GranularityParam = Annotated[Granularity, Query(description="bucket size: local minutes, hours or days")]
_DEFAULT_SPAN = {Granularity.minute: timedelta(hours=1), Granularity.hour: timedelta(days=1)}


async def series_range(
    now: NowDep,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
    granularity: GranularityParam = Granularity.minute,
) -> TimeRange:
    """The range of a series: at most MAX_BUCKETS buckets, the newest ones."""
    span = _DEFAULT_SPAN.get(granularity, timedelta(days=7))
    return time_range(from_, to, tz, granularity, now, span, max_buckets=MAX_BUCKETS)


async def minute_range(now: NowDep, from_: From = None, to: To = None, tz: Tz = "UTC") -> TimeRange:
    """The range of a series with a point per minute (sliding windows): at most MAX_BUCKETS, the newest."""
    span = _DEFAULT_SPAN[Granularity.minute]
    return time_range(from_, to, tz, Granularity.minute, now, span, max_buckets=MAX_BUCKETS)


async def span_range(
    now: NowDep,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
    granularity: GranularityParam = Granularity.minute,
) -> TimeRange:
    """The range of a total (ranking, funnel, sessions): any length; `granularity` only aligns its ends and
    sizes `compare=previous_period` (the same number of local minutes / hours / days back)."""
    span = _DEFAULT_SPAN.get(granularity, timedelta(days=7))
    return time_range(from_, to, tz, granularity, now, span, max_buckets=None)


async def filter_params(
    device_type: Annotated[Literal["desktop", "mobile", "tablet"] | None, Query()] = None,
    os: Dimension = None,
    browser: Dimension = None,
    location: Dimension = None,
    product_category: Dimension = None,
) -> Filters:
    return Filters(device_type, os, browser, location, product_category)


async def session_filter_params(
    device_type: Annotated[Literal["desktop", "mobile", "tablet"] | None, Query()] = None,
    os: Dimension = None,
    browser: Dimension = None,
    location: Dimension = None,
) -> Filters:
    """The filters that apply to sessions (no product_category: a session spans categories)."""
    return Filters(device_type, os, browser, location)


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


MAX_LIMIT = 1000
MAX_OFFSET = 100_000


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = 50,
    offset: Annotated[
        int, Query(ge=0, le=MAX_OFFSET, description="rows to skip; the first row's rank is offset + 1")
    ] = 0,
) -> Page:
    return Page(limit, offset)


RangeDep = Annotated[TimeRange, Depends(series_range)]
SpanDep = Annotated[TimeRange, Depends(span_range)]
MinuteRangeDep = Annotated[TimeRange, Depends(minute_range)]
FiltersDep = Annotated[Filters, Depends(filter_params)]
SessionFiltersDep = Annotated[Filters, Depends(session_filter_params)]
PageDep = Annotated[Page, Depends(page_params)]
CompareDep = Annotated[
    Literal["previous_period"] | None,
    Query(
        description="also answer the period just before: the same number of buckets of `granularity` "
        "(local days, hours or minutes) ending where this range starts"
    ),
]
