from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.common import Timer, meta
from api.deps import ContextDep
from api.errors import METRIC_RESPONSES
from api.params import SpanDep
from api.schemas import Cohort, Retention, RetentionPoint
from core.business_day import business_day
from core.choices import RetentionPeriod
from query import analytics

router = APIRouter(prefix="/metrics", tags=["customers"])
MAX_DAYS = 92
DAY_MS = 86_400_000


def period_start(day: date, period: RetentionPeriod) -> date:
    """The first business day of the period holding `day` (weeks start on Monday, as ISO 8601's do)."""
    return day if period == "day" else day - timedelta(days=day.weekday())


@router.get("/retention", responses=METRIC_RESPONSES)
def retention(
    ctx: ContextDep,
    r: SpanDep,
    period: Annotated[
        RetentionPeriod, Query(description="cohorts and their activity by business day or by week")
    ] = "day",
) -> Retention:
    """Cohorts by the period of each user's first event, and the share of each active in every later period.

    Periods are business days (`business_time_zone`) from the one holding `from` to the one holding the
    end of the range, at most 92 (a longer range keeps its newest 92). A user's first event is the
    earliest the user_days table still holds (its retention: 30 days)."""
    timer = Timer()
    zone = ctx.settings.business_time_zone
    # A longer range keeps its newest MAX_DAYS days (as a series keeps its newest buckets): 91 days of
    # time touch at most 92 dates, whatever the daylight-saving changes.
    r = replace(r, start_ms=max(r.start_ms, r.end_ms - (MAX_DAYS - 1) * DAY_MS))
    first_day = date.fromisoformat(business_day(r.start_ms, zone))
    last_day = date.fromisoformat(business_day(r.end_ms - 1, zone))
    step = timedelta(days=1 if period == "day" else 7)
    periods = [period_start(first_day, period)]
    while periods[-1] + step <= last_day:
        periods.append(periods[-1] + step)
    index = {p: i for i, p in enumerate(periods)}

    earliest = analytics.first_seen_per_user(ctx.pinot, ctx.tables, r.end_ms)
    firsts, all_users = earliest.rows
    cohort_of: dict[str, date] = {}
    for user, first_seen in firsts.items():
        day = date.fromisoformat(business_day(first_seen, zone))
        if first_day <= day <= last_day:
            cohort_of[user] = period_start(day, period)
    days = analytics.active_days(ctx.pinot, ctx.tables, periods[0].isoformat(), last_day.isoformat())
    seen, all_days = days.rows
    active: dict[tuple[date, date], set[str]] = defaultdict(set)
    for user, iso_day in seen:
        if user in cohort_of:
            active[(cohort_of[user], period_start(date.fromisoformat(iso_day), period))].add(user)
    members: dict[date, int] = defaultdict(int)
    for cohort in cohort_of.values():
        members[cohort] += 1
    cohorts = [
        Cohort(
            cohort=cohort.isoformat(),
            users=members[cohort],
            retention=[
                RetentionPoint(
                    period=k,
                    active=len(active[(cohort, later)]),
                    share=len(active[(cohort, later)]) / members[cohort],
                )
                for k, later in enumerate(periods[index[cohort] :])
            ],
        )
        for cohort in periods
        if members[cohort]
    ]
    return Retention(
        meta=meta(r, timer, ctx, earliest, days, series=False),
        period=period,
        business_time_zone=zone,
        complete=all_users and all_days,
        cohorts=cohorts,
    )
