"""Time ranges and buckets for the API: `from`/`to` as ISO-8601 or relative (`-15m`), a time zone,
a granularity, and the gap-free list of buckets a series must have."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_RELATIVE = re.compile(r"^-(\d{1,6})([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_BUCKETS = 10_000


class ParamError(ValueError):
    """A bad request parameter; `param` is its name as the client sent it."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(message)


class Granularity(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"

    @property
    def pinot_unit(self) -> str:
        return self.value.upper()


def parse_tz(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ParamError("tz", f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from exc


def parse_instant(value: str, now: datetime, tz: ZoneInfo, param: str) -> datetime:
    """`now`, a relative offset like `-15m` / `-2h` / `-7d`, or ISO-8601 (a naive time is read in `tz`)."""
    text = value.strip()
    if text == "now":
        return now
    if match := _RELATIVE.fullmatch(text):
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ParamError(
            param, f"{param} must be ISO-8601 (2026-11-21T10:00:00Z), 'now' or relative (-15m, -2h, -7d)"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def floor(t: datetime, granularity: Granularity, tz: ZoneInfo) -> datetime:
    local = t.astimezone(tz)
    if granularity is Granularity.minute:
        local = local.replace(second=0, microsecond=0)
    elif granularity is Granularity.hour:
        local = local.replace(minute=0, second=0, microsecond=0)
    else:
        local = local.replace(hour=0, minute=0, second=0, microsecond=0)
    # Re-resolve the wall time in tz: across a DST change the offset of the floored time can differ.
    return local.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)


def step(t: datetime, granularity: Granularity, tz: ZoneInfo) -> datetime:
    """The next bucket start after `t` (a bucket start), in wall-clock terms for days."""
    if granularity is Granularity.day:
        local = t.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
        return local.replace(tzinfo=tz).astimezone(UTC)
    return t + (timedelta(minutes=1) if granularity is Granularity.minute else timedelta(hours=1))


@dataclass(frozen=True)
class TimeRange:
    start: datetime  # inclusive, UTC, aligned to the granularity
    end: datetime  # exclusive, UTC, aligned
    granularity: Granularity
    tz: ZoneInfo

    def buckets(self) -> list[datetime]:
        out, t = [], self.start
        while t < self.end:
            out.append(t)
            t = step(t, self.granularity, self.tz)
        return out

    def previous(self) -> TimeRange:
        """The period of the same length just before this one (for compare=previous_period)."""
        span = self.end - self.start
        return TimeRange(self.start - span, self.start, self.granularity, self.tz)


def time_range(
    from_: str | None,
    to: str | None,
    tz_name: str,
    granularity: Granularity,
    now: datetime,
    default_span: timedelta = timedelta(hours=1),
) -> TimeRange:
    """Resolve the request's range: `to` rounds up to a whole bucket (the newest, possibly open,
    bucket is included), `from` rounds down."""
    tz = parse_tz(tz_name)
    end = parse_instant(to, now, tz, "to") if to else now
    start = parse_instant(from_, now, tz, "from") if from_ else end - default_span
    if start >= end:
        raise ParamError("from", "from must be before to")
    aligned_end = floor(end, granularity, tz)
    if aligned_end < end:
        aligned_end = step(aligned_end, granularity, tz)
    result = TimeRange(floor(start, granularity, tz), aligned_end, granularity, tz)
    span = result.end - result.start
    approx = {Granularity.minute: 60, Granularity.hour: 3600, Granularity.day: 86400}[granularity]
    if span.total_seconds() / approx > MAX_BUCKETS:
        raise ParamError("from", f"the range has more than {MAX_BUCKETS} {granularity} buckets; narrow it")
    return result
