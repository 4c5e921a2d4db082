"""Local-time buckets of any IANA zone, as epoch-millisecond boundaries computed with Python's zoneinfo.

A bucket of a granularity starts at every instant whose local wall-clock time is on the unit (second 0 for
minutes; minute 0 for hours; midnight for days), and at the instant a clock change skips over such a time
(Australia/Lord_Howe moving from 02:00 to 02:30 starts a bucket at the change, labelled 02:30+11:00). It ends
where the next one starts. So:

- an hour bucket is not always a UTC hour: Asia/Kathmandu's start at hh:15 UTC; a Lord_Howe DST change makes
  one 30-minute or 90-minute bucket;
- a day is 23, 24 or 25 hours long across DST changes; a midnight skipped by a change starts the day at the
  change (the first instant of the date);
- when clocks go back, the repeated hour is two hour buckets (America/New_York: 01:00-04:00 and 01:00-05:00).

Every function here works on epoch milliseconds (int) and a `ZoneInfo`; nothing asks Pinot about zones
(Pinot's bundled joda-time rules are older than Python's). Offsets are probed with `datetime.fromtimestamp`;
a clock change is found by bisection to the second between probes (changes happen on whole seconds).
Assumption: at most one clock change within any one bucket (true of every zone in the tz database since 1970).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
_CHUNK_MS = 64 * DAY_MS  # transitions are looked up (and cached) per chunk of this size


class Granularity(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"

    @property
    def unit_ms(self) -> int:
        """Nominal length (a local day can be 23 or 25 hours)."""
        return {Granularity.minute: MINUTE_MS, Granularity.hour: HOUR_MS, Granularity.day: DAY_MS}[self]


def to_datetime(ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds (exact)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def to_ms(t: datetime) -> int:
    """Epoch milliseconds of an aware datetime (exact, floored to the millisecond)."""
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def offset_ms(tz: ZoneInfo, ms: int) -> int:
    """The zone's UTC offset (ms) in force at instant `ms`."""
    offset = datetime.fromtimestamp(ms // SECOND_MS, tz).utcoffset()
    assert offset is not None
    return offset // timedelta(milliseconds=1)


def _change_between(tz: ZoneInfo, lo: int, hi: int) -> int:
    """The instant (whole second, in (lo, hi]) the offset changes, given offset(lo) != offset(hi)."""
    a, b = lo // SECOND_MS, hi // SECOND_MS
    before = offset_ms(tz, a * SECOND_MS)
    while b - a > 1:
        mid = (a + b) // 2
        if offset_ms(tz, mid * SECOND_MS) == before:
            a = mid
        else:
            b = mid
    return b * SECOND_MS


@functools.lru_cache(maxsize=65_536)
def _changes_in_chunk(tz: ZoneInfo, chunk: int) -> tuple[int, ...]:
    """Clock-change instants in (chunk start, chunk end], probing once a day."""
    lo = chunk * _CHUNK_MS
    found = []
    previous, previous_offset = lo, offset_ms(tz, lo)
    for probe in range(lo + DAY_MS, lo + _CHUNK_MS + 1, DAY_MS):
        current = offset_ms(tz, probe)
        if current != previous_offset:
            found.append(_change_between(tz, previous, probe))
        previous, previous_offset = probe, current
    return tuple(found)


def changes(tz: ZoneInfo, lo: int, hi: int) -> list[int]:
    """Instants in (lo, hi] at which the zone's UTC offset changes, ascending."""
    out: list[int] = []
    for chunk in range(lo // _CHUNK_MS, hi // _CHUNK_MS + 1):
        out.extend(t for t in _changes_in_chunk(tz, chunk) if lo < t <= hi)
    return out


def _on_unit(local_ms: int, unit: int) -> bool:
    return local_ms % unit == 0


def _skips_a_mark(before: int, after: int, at: int, unit: int) -> bool:
    """Whether a clock change at `at` (offset before -> after) starts a bucket: the wall time it jumps to
    is on the unit, or a forward jump passes over a time on the unit."""
    if _on_unit(at + after, unit):
        return True
    if after <= before:
        return False
    first_mark = -(-(at + before) // unit) * unit  # the first time on the unit at or after the old wall time
    return first_mark < at + after


def is_start(ms: int, g: Granularity, tz: ZoneInfo) -> bool:
    """Whether a bucket of granularity `g` starts at instant `ms`."""
    if g is Granularity.day:
        return day_floor(ms, tz) == ms
    unit, after = g.unit_ms, offset_ms(tz, ms)
    if _on_unit(ms + after, unit):
        return True
    before = offset_ms(tz, ms - 1)
    return before != after and ms % SECOND_MS == 0 and _skips_a_mark(before, after, ms, unit)


# Days: one bucket per local date, from its first instant.


def local_date(ms: int, tz: ZoneInfo) -> date:
    return datetime.fromtimestamp(ms // SECOND_MS, tz).date()


def day_start(d: date, tz: ZoneInfo) -> int:
    """The first instant of local date `d` (its midnight, or the clock change that skipped midnight)."""
    midnight = datetime.combine(d, time(), tzinfo=tz)  # fold=0: the earlier of a repeated midnight
    ms = to_ms(midnight)
    local = datetime.fromtimestamp(ms // SECOND_MS, tz)
    if local.date() == d and local.time() == time():
        return ms
    # Midnight does not exist that day: the date begins at the change that jumped over it (at or before ms).
    earlier = ms - DAY_MS
    return _change_between(tz, earlier, ms) if offset_ms(tz, earlier) != offset_ms(tz, ms) else ms


def skipped_dates(start: int, end: int, tz: ZoneInfo) -> list[date]:
    """Local dates in [date of start, date of end) that a clock change skipped whole (Pacific/Apia has no
    2011-12-30): they have no bucket."""
    out = []
    for change in changes(tz, start - 2 * DAY_MS, end + 2 * DAY_MS):
        before, after = offset_ms(tz, change - 1), offset_ms(tz, change)
        if after - before < DAY_MS - 2 * HOUR_MS:  # no jump can skip a whole date
            continue
        last_before = (to_datetime(change - 1) + timedelta(milliseconds=before)).date()
        first_after = (to_datetime(change) + timedelta(milliseconds=after)).date()
        d = last_before + timedelta(days=1)
        while d < first_after:
            out.append(d)
            d += timedelta(days=1)
    lo, hi = local_date(start, tz), local_date(end, tz)
    return [d for d in out if lo <= d < hi]


def day_floor(ms: int, tz: ZoneInfo) -> int:
    d = local_date(ms, tz)
    start = day_start(d, tz)
    return start if start <= ms else day_start(d - timedelta(days=1), tz)


# Minutes and hours: every time on the unit, plus changes that skip one.


def _floor_fixed(ms: int, unit: int, tz: ZoneInfo) -> int:
    after = offset_ms(tz, ms)
    grid = ms - (ms + after) % unit
    if offset_ms(tz, grid) == after:
        return grid
    change = _change_between(tz, grid, ms)
    before = offset_ms(tz, change - 1)
    if _skips_a_mark(before, after, change, unit):
        return change
    return _floor_fixed(change - 1, unit, tz)


def _next_fixed(ms: int, unit: int, tz: ZoneInfo) -> int:
    """The first bucket start after `ms`."""
    before = offset_ms(tz, ms)
    grid = ms + unit - (ms + before) % unit
    if offset_ms(tz, grid) == before:
        return grid
    change = _change_between(tz, ms, grid)
    if _skips_a_mark(before, offset_ms(tz, change), change, unit):
        return change
    return _next_fixed(change, unit, tz)


def floor(ms: int, g: Granularity, tz: ZoneInfo) -> int:
    """The start of the bucket holding instant `ms`."""
    if g is Granularity.day:
        return day_floor(ms, tz)
    return _floor_fixed(ms, g.unit_ms, tz)


def next_start(ms: int, g: Granularity, tz: ZoneInfo) -> int:
    """The first bucket start strictly after instant `ms`."""
    if g is Granularity.day:
        today = datetime.fromtimestamp(ms // SECOND_MS, tz)
        guess = ms - ms % SECOND_MS + DAY_MS  # the next midnight when no clock change intervenes
        at = datetime.fromtimestamp(guess // SECOND_MS, tz)
        if (
            at.time() == time()
            and at.date() == today.date() + timedelta(days=1)
            and at.utcoffset() == today.utcoffset()
        ):
            return guess
        return day_start(today.date() + timedelta(days=1), tz)
    return _next_fixed(ms, g.unit_ms, tz)


def ceil(ms: int, g: Granularity, tz: ZoneInfo) -> int:
    """The first bucket start at or after `ms`."""
    start = floor(ms, g, tz)
    return start if start == ms else next_start(ms, g, tz)


def edges(start: int, end: int, g: Granularity, tz: ZoneInfo, limit: int) -> list[int]:
    """Bucket boundaries from `start` (a bucket start) to `end` (one too): starts, then `end`.
    At most `limit` buckets; raises ValueError beyond (callers bound ranges with `count` first)."""
    out = [start]
    while out[-1] < end:
        if len(out) > limit:
            raise ValueError(f"more than {limit} buckets")
        out.append(min(next_start(out[-1], g, tz), end))
    return out


@dataclass(frozen=True)
class _Segment:
    """[start, end) with one UTC offset; `extra_start`: its first instant starts a bucket off the grid."""

    start: int
    end: int
    offset: int
    extra_start: bool

    def grid_count(self, unit: int) -> int:
        """Instants g in [start, end) with local time on the unit."""
        return (self.end - 1 + self.offset) // unit - (self.start - 1 + self.offset) // unit

    def last_grid_before(self, ms: int, unit: int) -> int:
        return (ms - 1) - (ms - 1 + self.offset) % unit


def _segments(tz: ZoneInfo, lo: int, hi: int, unit: int) -> list[_Segment]:
    cuts = [lo, *changes(tz, lo, hi - 1), hi]
    out = []
    for a, b in itertools.pairwise(cuts):
        if a >= b:
            continue
        offset = offset_ms(tz, a)
        extra = not _on_unit(a + offset, unit) and is_start(a, _FIXED[unit], tz)
        out.append(_Segment(a, b, offset, extra))
    return out


_FIXED = {MINUTE_MS: Granularity.minute, HOUR_MS: Granularity.hour}


def count(start: int, end: int, g: Granularity, tz: ZoneInfo) -> int:
    """How many buckets start in [start, end) (both bucket starts: the buckets between them)."""
    if end <= start:
        return 0
    if g is Granularity.day:
        return (local_date(end, tz) - local_date(start, tz)).days - len(skipped_dates(start, end, tz))
    unit = g.unit_ms
    return sum(s.grid_count(unit) + s.extra_start for s in _segments(tz, start, end, unit))


def shift_back(start: int, n: int, g: Granularity, tz: ZoneInfo) -> int:
    """The bucket start `n` buckets before bucket start `start` (calendar-aligned: n local days or hours)."""
    if n <= 0:
        return start
    if g is Granularity.day:
        d = local_date(start, tz) - timedelta(days=n)
        while count(day_start(d, tz), start, g, tz) < n:  # a skipped date in between: one more back
            d -= timedelta(days=1)
        return day_start(d, tz)
    unit = g.unit_ms
    lo = start - 2 * n * unit - DAY_MS  # buckets average a unit: this holds n of them
    while True:
        left = n
        for seg in reversed(_segments(tz, lo, start, unit)):
            grid = seg.grid_count(unit)
            if left <= grid:
                return seg.last_grid_before(seg.end, unit) - (left - 1) * unit
            left -= grid
            if seg.extra_start:
                if left == 1:
                    return seg.start
                left -= 1
        lo -= 2 * n * unit + DAY_MS
