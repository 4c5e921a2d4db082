"""Query parameters shared by the metric routes, as typed dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Depends, Query

from api.deps import NowDep
from api.timerange import Granularity, TimeRange, time_range
from query.analytics import Filters

Dimension = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")]


def range_params(
    now: NowDep,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            description="ISO-8601, 'now' or relative (-15m, -2h, -7d); default: 1 hour before `to`",
        ),
    ] = None,
    to: Annotated[str | None, Query(description="ISO-8601, 'now' or relative; default now")] = None,
    tz: Annotated[str, Query(description="IANA time zone for bucket boundaries and naive times")] = "UTC",
    granularity: Annotated[Granularity, Query(description="bucket size")] = Granularity.minute,
) -> TimeRange:
    default = {Granularity.minute: timedelta(hours=1), Granularity.hour: timedelta(days=1)}
    return time_range(from_, to, tz, granularity, now, default.get(granularity, timedelta(days=7)))


def filter_params(
    device_type: Annotated[Literal["desktop", "mobile", "tablet"] | None, Query()] = None,
    os: Dimension = None,
    browser: Dimension = None,
    location: Dimension = None,
    product_category: Dimension = None,
) -> Filters:
    return Filters(device_type, os, browser, location, product_category)


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=1000, description="rows per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000, description="rows to skip")] = 0,
) -> Page:
    return Page(limit, offset)


RangeDep = Annotated[TimeRange, Depends(range_params)]
FiltersDep = Annotated[Filters, Depends(filter_params)]
PageDep = Annotated[Page, Depends(page_params)]
CompareDep = Annotated[
    Literal["previous_period"] | None,
    Query(description="also return the same figures for the period just before"),
]
