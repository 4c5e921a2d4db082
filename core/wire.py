"""Wire-level rules of the event contract that do not depend on the event models.

What a payload must be before its fields are looked at, how an event timestamp is spelled, and what
counts as valid text. The Flink job implements the same rules in Java (flink_jobs/udf, `EventContract`);
the shared vectors in `tests/vectors/event_contract.jsonl` and a differential fuzz test keep both equal.

Rules (docs/event-contract.md says them for users):

- A payload is at most `MAX_PAYLOAD_BYTES` bytes of strict UTF-8 (no byte order mark), holding exactly
  one JSON value (RFC 8259: no NaN/Infinity, no comments, nothing but whitespace after it), nested at
  most `MAX_DEPTH` deep, with no number literal longer than `MAX_NUMBER_CHARS` characters.
- A number is read as the nearest IEEE-754 double; an integer field takes only integer literals (no
  fraction, no exponent) and compares them exactly.
- Text is valid when it has no control character (Unicode category Cc: U+0000-U+001F, U+007F-U+009F)
  and no unpaired surrogate; lengths are counted in code points.
- An event timestamp is integer epoch milliseconds, or an ISO-8601 / RFC 3339 date-time
  `YYYY-MM-DDTHH:MM:SS[.fraction][Z|+HH:MM|-HH:MM]`: with `Z` or an offset it names one instant; without
  one it is a local time in the configured zone (default UTC; a time skipped by a DST change is read
  with the offset before the change, as `zoneinfo` with fold=0 and `java.time` both do; a repeated time
  takes the earlier instant). Fractions beyond milliseconds are truncated (never rounded up).
  The instant must lie in [2000-01-01T00:00:00Z, 2070-01-01T00:00:00Z).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_DEPTH = 32
"""The top-level object is depth 1."""
MAX_NUMBER_CHARS = 100

MIN_EVENT_MILLIS = 946_684_800_000
"""2000-01-01T00:00:00Z, inclusive."""
MAX_EVENT_MILLIS = 3_155_760_000_000
"""2070-01-01T00:00:00Z, exclusive: inside the range Pinot 0.11 accepts for a time column (1971-2071)."""

MAX_OFFSET_MINUTES = 18 * 60

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?",
    re.ASCII,
)
_MILLIS_PER_DAY = 86_400_000


class TimestampFormatError(ValueError):
    """A string that is not an accepted ISO-8601 date-time (or names no real date and time)."""


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def iso_to_epoch_millis(text: str, naive_zone: str = "UTC") -> int:
    """Epoch milliseconds of an accepted ISO-8601 date-time; raises TimestampFormatError otherwise.

    The result may lie outside [MIN_EVENT_MILLIS, MAX_EVENT_MILLIS): the caller checks the range.
    """
    match = _ISO.fullmatch(text)
    if match is None:
        raise TimestampFormatError("not an ISO-8601 date-time")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, offset = match.group(7), match.group(8)
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        raise TimestampFormatError("no such date")
    if hour > 23 or minute > 59 or second > 59:
        raise TimestampFormatError("no such time of day")
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    local = (
        days_from_civil(year, month, day) * _MILLIS_PER_DAY
        + ((hour * 60 + minute) * 60 + second) * 1000
        + millis
    )
    if offset == "Z":
        return local
    if offset is not None:
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        total = hours * 60 + minutes
        if minutes > 59 or total > MAX_OFFSET_MINUTES:
            raise TimestampFormatError("offset out of range")
        return local - (1 if offset[0] == "+" else -1) * total * 60_000
    if naive_zone == "UTC" or not 1 <= year <= 9999:
        return local
    wall = datetime(year, month, day, hour, minute, second, tzinfo=zone(naive_zone))  # fold=0
    utc_offset = wall.utcoffset()
    assert utc_offset is not None
    return local - (utc_offset.days * _MILLIS_PER_DAY + utc_offset.seconds * 1000)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# A Python str holds code points, so any surrogate in it is unpaired (a pair would be one code point).
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why `value` is not valid text (a control character or an unpaired surrogate), or None."""
    if _CONTROL.search(value):
        return "control character"
    if _SURROGATE.search(value):
        return "unpaired surrogate"
    return None
