"""The business day: the calendar date, in the business time zone (`RTA_BUSINESS_TIME_ZONE`), on which an
instant falls. Running totals "since the start of the day" (the `user_days` dataset and
`GET /metrics/day-to-date`) restart when it changes, and retention cohorts are made of these days.

The job applies the same rule with java.time (`BUSINESS_DAY(millis, zone)`, flink_jobs/udf
`rta.udf.BusinessDay`); the shared vectors in tests/vectors/business_day.jsonl hold both to it, around
daylight-saving changes and odd offsets. A minute never spans two dates: every offset in use since 1972 is
a whole number of minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def business_day(epoch_ms: int, zone: str) -> str:
    """The ISO date (YYYY-MM-DD) in IANA zone `zone` of the instant `epoch_ms` (milliseconds since the
    Unix epoch). Raises ZoneInfoNotFoundError for an unknown zone."""
    instant = _EPOCH + timedelta(milliseconds=epoch_ms)  # exact, unlike a float of seconds
    return instant.astimezone(_zone(zone)).date().isoformat()
