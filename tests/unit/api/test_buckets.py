"""Local-time buckets against zoneinfo itself: the zones whose rules bite (DST both ways, 45-minute
offsets, a 30-minute DST shift, a zone Pinot's bundled rules do not know)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api import buckets
from api.buckets import HOUR_MS, MINUTE_MS, Granularity, to_datetime, to_ms

NY = ZoneInfo("America/New_York")
KYIV = ZoneInfo("Europe/Kyiv")
KATHMANDU = ZoneInfo("Asia/Kathmandu")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def ms(text: str) -> int:
    return to_ms(datetime.fromisoformat(text))


def local(t: int, tz: ZoneInfo) -> str:
    return to_datetime(t).astimezone(tz).isoformat()


def day_edges(first: date, days: int, tz: ZoneInfo) -> list[int]:
    start = buckets.day_start(first, tz)
    end = buckets.day_start(first + timedelta(days=days), tz)
    return buckets.edges(start, end, Granularity.day, tz, limit=1000)


def hour_edges(first_local: str, hours: int, tz: ZoneInfo) -> list[int]:
    start = buckets.floor(to_ms(datetime.fromisoformat(first_local).replace(tzinfo=tz)), Granularity.hour, tz)
    out = [start]
    for _ in range(hours):
        out.append(buckets.next_start(out[-1], Granularity.hour, tz))
    return out


def lengths_h(edges: list[int]) -> list[float]:
    return [(b - a) / HOUR_MS for a, b in itertools.pairwise(edges)]


def test_kyiv_days_follow_python_rules_across_both_dst_changes() -> None:
    # Europe/Kyiv (a name Pinot 0.11's joda-time does not know): summer time 2026-03-29 and 2026-10-25.
    spring = day_edges(date(2026, 3, 28), 3, KYIV)
    assert [local(t, KYIV) for t in spring] == [
        "2026-03-28T00:00:00+02:00",
        "2026-03-29T00:00:00+02:00",
        "2026-03-30T00:00:00+03:00",
        "2026-03-31T00:00:00+03:00",
    ]
    assert lengths_h(spring) == [24, 23, 24]
    assert lengths_h(day_edges(date(2026, 10, 24), 3, KYIV)) == [24, 25, 24]
    # The request: one day bucket, 2026-11-29 in Kyiv, starting at 22:00 UTC the day before.
    assert day_edges(date(2026, 11, 29), 1, KYIV) == [
        ms("2026-11-28T22:00:00+00:00"),
        ms("2026-11-29T22:00:00+00:00"),
    ]


def test_new_york_hours_across_both_dst_changes() -> None:
    spring = hour_edges("2026-03-08T00:00", 4, NY)
    assert [local(t, NY) for t in spring] == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",  # 02:00 does not exist
        "2026-03-08T04:00:00-04:00",
        "2026-03-08T05:00:00-04:00",
    ]
    fall = hour_edges("2026-11-01T00:00", 4, NY)
    assert [local(t, NY) for t in fall] == [
        "2026-11-01T00:00:00-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",  # the repeated hour is its own bucket
        "2026-11-01T02:00:00-05:00",
        "2026-11-01T03:00:00-05:00",
    ]
    assert set(lengths_h(spring) + lengths_h(fall)) == {1}
    assert lengths_h(day_edges(date(2026, 3, 7), 3, NY)) == [24, 23, 24]
    assert lengths_h(day_edges(date(2026, 10, 31), 3, NY)) == [24, 25, 24]


def test_kathmandu_hours_start_at_a_quarter_past_utc() -> None:
    edges = hour_edges("2026-06-01T10:00", 3, KATHMANDU)
    assert [to_datetime(t).minute for t in edges] == [15, 15, 15, 15]
    assert [local(t, KATHMANDU)[11:] for t in edges] == [
        "10:00:00+05:45",
        "11:00:00+05:45",
        "12:00:00+05:45",
        "13:00:00+05:45",
    ]


def test_lord_howe_half_hour_dst_makes_one_short_and_one_long_hour() -> None:
    # 2026-10-04 02:00 (+10:30) -> 02:30 (+11:00): a 30-minute bucket starts at the change.
    forward = hour_edges("2026-10-04T00:00", 4, LORD_HOWE)
    assert [local(t, LORD_HOWE) for t in forward] == [
        "2026-10-04T00:00:00+10:30",
        "2026-10-04T01:00:00+10:30",
        "2026-10-04T02:30:00+11:00",
        "2026-10-04T03:00:00+11:00",
        "2026-10-04T04:00:00+11:00",
    ]
    assert lengths_h(forward) == [1, 1, 0.5, 1]
    # 2026-04-05 02:00 (+11:00) -> 01:30 (+10:30): the 01:00 bucket lasts 90 minutes.
    back = hour_edges("2026-04-05T00:00", 3, LORD_HOWE)
    assert [local(t, LORD_HOWE) for t in back] == [
        "2026-04-05T00:00:00+11:00",
        "2026-04-05T01:00:00+11:00",
        "2026-04-05T02:00:00+10:30",
        "2026-04-05T03:00:00+10:30",
    ]
    assert lengths_h(back) == [1, 1.5, 1]
    assert lengths_h(day_edges(date(2026, 10, 3), 3, LORD_HOWE)) == [24, 23.5, 24]
    assert lengths_h(day_edges(date(2026, 4, 4), 3, LORD_HOWE)) == [24, 24.5, 24]


ZONES = ["UTC", "America/New_York", "Europe/Kyiv", "Asia/Kathmandu", "Australia/Lord_Howe", "Asia/Kolkata"]
INSTANTS = st.integers(min_value=ms("2000-01-01T00:00:00+00:00"), max_value=ms("2069-12-31T00:00:00+00:00"))


def _brute_start(t: int, g: Granularity, tz: ZoneInfo) -> bool:
    """A start, by zoneinfo alone: the wall time at t is on the unit, or a jump forward passed one."""
    wall = to_datetime(t).astimezone(tz).replace(tzinfo=None)
    expected = to_datetime(t - MINUTE_MS).astimezone(tz).replace(tzinfo=None) + timedelta(minutes=1)

    def on_unit(w: datetime) -> bool:
        return w.second == 0 and w.microsecond == 0 and (g is Granularity.minute or w.minute == 0)

    if g is Granularity.day:
        return wall.time() == datetime.min.time() or (wall.date() > expected.date() and wall > expected)
    if on_unit(wall):
        return True
    if wall > expected:
        mark = expected.replace(minute=0, second=0, microsecond=0)
        mark = mark if mark >= expected else mark + timedelta(hours=1)
        return mark < wall
    return False


@settings(max_examples=300, deadline=None)
@given(t=INSTANTS, zone=st.sampled_from(ZONES), g=st.sampled_from(list(Granularity)))
def test_floor_and_next_agree_with_a_minute_by_minute_scan(t: int, zone: str, g: Granularity) -> None:
    tz = ZoneInfo(zone)
    start = buckets.floor(t, g, tz)
    nxt = buckets.next_start(start, g, tz)
    assert start <= t < nxt
    assert buckets.is_start(start, g, tz)
    assert _brute_start(start, g, tz)
    # No start in between, scanning whole minutes (every zone's changes fall on whole minutes since 1972).
    if g is not Granularity.day:
        first = start - start % MINUTE_MS + MINUTE_MS
        assert not any(_brute_start(m, g, tz) for m in range(first, nxt, MINUTE_MS))
    assert buckets.floor(nxt - 1, g, tz) == start


@settings(max_examples=200, deadline=None)
@given(t=INSTANTS, zone=st.sampled_from(ZONES), g=st.sampled_from(list(Granularity)), n=st.integers(0, 800))
def test_shift_back_and_count_are_inverse_and_match_stepping(
    t: int, zone: str, g: Granularity, n: int
) -> None:
    tz = ZoneInfo(zone)
    end = buckets.floor(t, g, tz)
    start = buckets.shift_back(end, n, g, tz)
    assert buckets.count(start, end, g, tz) == n
    if n <= 60:
        stepped = start
        for _ in range(n):
            stepped = buckets.next_start(stepped, g, tz)
        assert stepped == end


def test_counting_decades_of_minutes_is_fast_and_exact() -> None:
    start, end = ms("2000-01-01T00:00:00+00:00"), ms("2070-01-01T00:00:00+00:00")
    assert buckets.count(start, end, Granularity.minute, NY) == (end - start) // MINUTE_MS
    assert buckets.shift_back(end, (end - start) // MINUTE_MS, Granularity.minute, NY) == start
    days = (date(2070, 1, 1) - date(2000, 1, 1)).days
    assert buckets.count(start, end, Granularity.day, ZoneInfo("UTC")) == days


@pytest.mark.parametrize(
    "zone", ["Pacific/Chatham", "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns"]
)
def test_every_bucket_start_is_local_on_the_unit_or_right_after_a_skip(zone: str) -> None:
    tz = ZoneInfo(zone)
    t = buckets.floor(ms("2026-01-01T00:00:00+00:00"), Granularity.hour, tz)
    for _ in range(24 * 400):
        lt = to_datetime(t).astimezone(tz)
        before = to_datetime(t - 1).astimezone(tz)
        assert (lt.minute, lt.second) == (0, 0) or lt.utcoffset() != before.utcoffset(), lt
        t = buckets.next_start(t, Granularity.hour, tz)
    assert to_datetime(t).astimezone(UTC).year == 2027


def test_a_date_skipped_by_the_date_line_has_no_bucket_and_counts_stay_bucket_for_bucket() -> None:
    apia = ZoneInfo("Pacific/Apia")  # moved across the date line: 2011-12-29 was followed by 2011-12-31
    edges = day_edges(date(2011, 12, 28), 5, apia)
    assert [local(t, apia)[:10] for t in edges] == [
        "2011-12-28",
        "2011-12-29",
        "2011-12-31",
        "2012-01-01",
        "2012-01-02",
    ]
    assert buckets.skipped_dates(edges[0], edges[-1], apia) == [date(2011, 12, 30)]
    assert buckets.count(edges[0], edges[-1], Granularity.day, apia) == 4
    assert buckets.shift_back(edges[-1], 4, Granularity.day, apia) == edges[0]
