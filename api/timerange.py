"""Time ranges for the API: `from`/`to` (ISO-8601, `now` or relative like `-15m`), an IANA time zone, a
granularity, and the calendar buckets of the range (api/buckets.py).

What is accepted is exactly `INSTANT_PATTERN` and `ZONES`, so the OpenAPI spec can say it. Values that
match but fall outside what can hold data are served, not refused:

- instants are clamped to [2000-01-01T00:00Z, 2070-01-01T00:00Z], the event contract's time bounds
  (core/wire.py): no event lies outside, so `from=-999999w` reads as "since 2000";
- a range whose `from` is not before its `to` is empty (no buckets);
- a series keeps its newest `MAX_BUCKETS` buckets (`meta.from` says where it starts).
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from api import buckets
from api.buckets import Granularity
from core.wire import MAX_EVENT_MILLIS, MIN_EVENT_MILLIS

__all__ = ["INSTANT_PATTERN", "MAX_BUCKETS", "ZONES", "Granularity", "ParamError", "TimeRange", "time_range"]

MAX_BUCKETS = 10_000
EARLIEST_MS = MIN_EVENT_MILLIS
LATEST_MS = MAX_EVENT_MILLIS

_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}
_MONTH_DAY = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_DAY = r"(?:[1-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[13579][26])00)-02-29"
_DATE = rf"(?:[1-9][0-9]{{3}}-{_MONTH_DAY}|{_LEAP_DAY})"
_TIME = r"T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
INSTANT_PATTERN = rf"^(?:now|-[0-9]{{1,6}}[smhdw]|{_DATE}(?:{_TIME}{_OFFSET}?)?)$"
"""What `from` and `to` accept: `now`; `-N` + s/m/h/d/w (N up to 6 digits); a calendar date
(YYYY-MM-DD, years 1000-9999, local midnight); or a date and time (seconds and up to 6 decimals optional)
with an optional `Z` / `±hh:mm` offset (without one, the time is read in `tz`)."""

_INSTANT = re.compile(INSTANT_PATTERN)
_PARTS = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)"
    r"(?:T(?P<h>\d\d):(?P<mi>\d\d)(?::(?P<s>\d\d)(?:\.(?P<f>\d{1,6}))?)?"
    r"(?P<z>Z|(?P<sign>[+-])(?P<oh>\d\d):(?P<om>\d\d))?)?$"
)


@functools.cache
def _zones() -> tuple[str, ...]:
    names = zoneinfo.available_timezones() - {"localtime", "posixrules"}
    return tuple(sorted(n for n in names | {"UTC"} if not n.startswith(("posix/", "right/"))))


ZONES = _zones()
"""Every IANA zone name Python's zoneinfo knows here: what `tz` accepts."""


class ParamError(ValueError):
    """A bad request parameter; `param` is its name as the client sent it."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(message)


def parse_tz(value: str) -> ZoneInfo:
    if value not in _zone_set():
        raise ParamError("tz", "unknown time zone; use an IANA name such as Europe/Paris")
    return ZoneInfo(value)


@functools.cache
def _zone_set() -> frozenset[str]:
    return frozenset(ZONES)


def _clamp(ms: int) -> int:
    return min(max(ms, EARLIEST_MS), LATEST_MS)


def parse_instant(value: str, now_ms: int, tz: ZoneInfo, param: str) -> int:
    """Epoch ms of `value` (see INSTANT_PATTERN), clamped to [EARLIEST_MS, LATEST_MS]."""
    if not _INSTANT.fullmatch(value):
        raise ParamError(
            param,
            f"{param} must be 'now', relative (-15m, -2h, -7d, -1w) or ISO-8601 "
            "(2026-11-21, 2026-11-21T10:00, 2026-11-21T10:00:00Z, 2026-11-21T10:00:00+02:00)",
        )
    if value == "now":
        return _clamp(now_ms)
    if value.startswith("-"):
        return _clamp(now_ms - int(value[1:-1]) * _UNITS_MS[value[-1]])
    parts = _PARTS.fullmatch(value)
    assert parts is not None  # INSTANT_PATTERN admits only this shape here
    g = parts.groupdict()
    day = date(int(g["y"]), int(g["mo"]), int(g["d"]))  # valid: the pattern admits only real dates
    wall = (day - date(1970, 1, 1)).days * buckets.DAY_MS + (
        int(g["h"] or 0) * 3_600_000
        + int(g["mi"] or 0) * 60_000
        + int(g["s"] or 0) * 1000
        + int((g["f"] or "0").ljust(6, "0")) // 1000
    )
    if g["z"] is not None:
        offset = 0 if g["z"] == "Z" else (int(g["oh"]) * 60 + int(g["om"])) * 60_000
        return _clamp(wall - offset if g["sign"] != "-" else wall + offset)
    if not EARLIEST_MS - 2 * buckets.DAY_MS <= wall <= LATEST_MS + 2 * buckets.DAY_MS:
        return _clamp(wall)  # far outside: no need to know the zone's offset
    local = datetime(1970, 1, 1) + timedelta(milliseconds=wall)
    return _clamp(buckets.to_ms(local.replace(tzinfo=tz)))  # fold=0: the earlier of a repeated time


@dataclass(frozen=True)
class TimeRange:
    """[start_ms, end_ms) in epoch milliseconds, both bucket starts of `granularity` in `tz`."""

    start_ms: int
    end_ms: int
    granularity: Granularity
    tz: ZoneInfo

    @property
    def start(self) -> datetime:
        return buckets.to_datetime(self.start_ms)

    @property
    def end(self) -> datetime:
        return buckets.to_datetime(self.end_ms)

    @property
    def empty(self) -> bool:
        return self.end_ms <= self.start_ms

    def edges(self) -> list[int]:
        """Bucket boundaries: every bucket start, then end_ms (just [start_ms] when empty)."""
        return buckets.edges(self.start_ms, self.end_ms, self.granularity, self.tz, limit=MAX_BUCKETS)

    def buckets(self) -> list[datetime]:
        """Bucket starts (UTC)."""
        return [buckets.to_datetime(ms) for ms in self.edges()[:-1]]

    def count(self) -> int:
        return buckets.count(self.start_ms, self.end_ms, self.granularity, self.tz)

    def previous(self) -> TimeRange:
        """The same number of buckets just before (n local days / hours / minutes back, across DST too)."""
        n = self.count()
        start = buckets.shift_back(self.start_ms, n, self.granularity, self.tz)
        return TimeRange(start, self.start_ms, self.granularity, self.tz)


def time_range(
    from_: str | None,
    to: str | None,
    tz_name: str,
    granularity: Granularity,
    now: datetime,
    default_span: timedelta = timedelta(hours=1),
    max_buckets: int | None = MAX_BUCKETS,
) -> TimeRange:
    """Resolve a request's range: `from` rounds down to a bucket start, `to` up (the newest, possibly
    open, bucket is included). With `max_buckets`, only the newest that many buckets are kept."""
    tz = parse_tz(tz_name)
    now_ms = buckets.to_ms(now.astimezone(UTC))
    end = parse_instant(to, now_ms, tz, "to") if to is not None else _clamp(now_ms)
    start = (
        parse_instant(from_, now_ms, tz, "from")
        if from_ is not None
        else _clamp(end - default_span // timedelta(milliseconds=1))
    )
    aligned_end = buckets.ceil(end, granularity, tz)
    if start >= end:
        return TimeRange(aligned_end, aligned_end, granularity, tz)
    aligned_start = buckets.floor(start, granularity, tz)
    if max_buckets is not None and buckets.count(aligned_start, aligned_end, granularity, tz) > max_buckets:
        aligned_start = buckets.shift_back(aligned_end, max_buckets, granularity, tz)
    return TimeRange(aligned_start, aligned_end, granularity, tz)
