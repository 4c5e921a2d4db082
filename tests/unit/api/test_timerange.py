from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.buckets import HOUR_MS, to_datetime, to_ms
from api.timerange import (
    EARLIEST_MS,
    INSTANT_PATTERN,
    LATEST_MS,
    MAX_BUCKETS,
    ZONES,
    Granularity,
    ParamError,
    parse_instant,
    parse_tz,
    time_range,
)

NOW = datetime(2026, 11, 21, 10, 30, 15, tzinfo=UTC)
NOW_MS = to_ms(NOW)
UTC_ZONE = ZoneInfo("UTC")


def at(ms: int) -> datetime:
    return to_datetime(ms)


def test_relative_and_iso_instants() -> None:
    assert at(parse_instant("-15m", NOW_MS, UTC_ZONE, "from")) == NOW - timedelta(minutes=15)
    assert at(parse_instant("-2h", NOW_MS, UTC_ZONE, "from")) == NOW - timedelta(hours=2)
    assert at(parse_instant("-1w", NOW_MS, UTC_ZONE, "from")) == NOW - timedelta(weeks=1)
    assert at(parse_instant("now", NOW_MS, UTC_ZONE, "to")) == NOW
    assert at(parse_instant("2026-11-21T09:00:00Z", NOW_MS, UTC_ZONE, "from")) == datetime(
        2026, 11, 21, 9, tzinfo=UTC
    )
    assert at(parse_instant("2026-11-21T09:00+02:00", NOW_MS, UTC_ZONE, "f")) == datetime(
        2026, 11, 21, 7, tzinfo=UTC
    )
    assert at(parse_instant("2026-11-21T09:00-03:30", NOW_MS, UTC_ZONE, "f")) == datetime(
        2026, 11, 21, 12, 30, tzinfo=UTC
    )
    assert at(parse_instant("2026-11-21T09:00:01.25Z", NOW_MS, UTC_ZONE, "f")) == datetime(
        2026, 11, 21, 9, 0, 1, 250_000, tzinfo=UTC
    )
    # A naive time or a date is read in the request's time zone.
    paris = parse_instant("2026-11-21T09:00:00", NOW_MS, ZoneInfo("Europe/Paris"), "from")
    assert at(paris) == datetime(2026, 11, 21, 8, tzinfo=UTC)
    kyiv = parse_instant("2026-11-29", NOW_MS, ZoneInfo("Europe/Kyiv"), "from")
    assert at(kyiv) == datetime(2026, 11, 28, 22, tzinfo=UTC)
    assert parse_instant("2028-02-29", NOW_MS, UTC_ZONE, "from") == to_ms(datetime(2028, 2, 29, tzinfo=UTC))


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "-15x",
        "15m",
        "2026-13-01",
        "-",
        "2026-02-30",  # not a date
        "2027-02-29",  # not a leap year
        "2100-02-29",  # not a leap year either
        "10000-01-01",  # years beyond 9999
        "0999-01-01",
        "2026-11-21 10:00",
        "2026-11-21T24:00",
        "20261121",
        " now",
        "now\n",
        "-1234567d",
        "2026-11-21T10:00:00+24:00",
        "2026-11-21T10:00\x00",
    ],
)
def test_bad_instants_name_the_parameter(text: str) -> None:
    with pytest.raises(ParamError) as err:
        parse_instant(text, NOW_MS, UTC_ZONE, "from")
    assert err.value.param == "from"
    assert re.fullmatch(INSTANT_PATTERN, text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-999999w", EARLIEST_MS),
        ("-999999d", EARLIEST_MS),
        ("1000-01-01", EARLIEST_MS),
        ("1000-01-01T00:00:00+14:00", EARLIEST_MS),
        ("9999-12-31T23:59:59", LATEST_MS),
        ("9999-12-31T23:59:59.999999-14:00", LATEST_MS),
        ("2070-06-01T00:00:00Z", LATEST_MS),
    ],
)
def test_instants_beyond_the_event_time_bounds_are_clamped(text: str, expected: int) -> None:
    for zone in ("UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        assert parse_instant(text, NOW_MS, ZoneInfo(zone), "from") == expected


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(INSTANT_PATTERN, fullmatch=True),
    st.sampled_from(["UTC", "America/New_York", "Asia/Kathmandu"]),
)
@pytest.mark.slow
def test_every_value_the_pattern_admits_parses(text: str, zone: str) -> None:
    ms = parse_instant(text, NOW_MS, ZoneInfo(zone), "from")
    assert EARLIEST_MS <= ms <= LATEST_MS


def test_zones_are_what_zoneinfo_knows() -> None:
    assert {"UTC", "Europe/Kyiv", "Asia/Kathmandu", "Australia/Lord_Howe", "America/New_York"} <= set(ZONES)
    assert "localtime" not in ZONES
    for bad in ("Mars/Olympus", "", "../etc/passwd", "Europe/Paris\x00", "x" * 5000, "europe/paris"):
        with pytest.raises(ParamError) as err:
            parse_tz(bad)
        assert err.value.param == "tz"


def test_range_is_aligned_and_includes_the_open_bucket() -> None:
    r = time_range("-15m", None, "UTC", Granularity.minute, NOW)
    assert r.start == datetime(2026, 11, 21, 10, 15, tzinfo=UTC)
    assert r.end == datetime(2026, 11, 21, 10, 31, tzinfo=UTC)
    assert len(r.buckets()) == 16
    assert r.previous().end == r.start
    assert r.previous().end - r.previous().start == r.end - r.start


def test_day_buckets_follow_the_time_zone_across_dst() -> None:
    # Europe/Paris left summer time on 2026-10-25: that day has 25 hours.
    now = datetime(2026, 10, 27, 12, tzinfo=UTC)
    r = time_range("2026-10-24T00:00:00", "2026-10-27T00:00:00", "Europe/Paris", Granularity.day, now)
    starts = [b.astimezone(ZoneInfo("Europe/Paris")) for b in r.buckets()]
    assert [s.day for s in starts] == [24, 25, 26]
    assert all((s.hour, s.minute) == (0, 0) for s in starts)
    assert r.buckets()[2] - r.buckets()[1] == timedelta(hours=25)


def test_previous_period_is_the_same_number_of_local_days_back_across_dst() -> None:
    # Three days after the change; the previous three include the 25-hour day: 73 hours, not 72.
    now = datetime(2026, 11, 1, tzinfo=UTC)
    paris = ZoneInfo("Europe/Paris")
    r = time_range("2026-10-26", "2026-10-29", "Europe/Paris", Granularity.day, now)
    prev = r.previous()
    assert [b.astimezone(paris).day for b in prev.buckets()] == [23, 24, 25]
    assert all(b.astimezone(paris).hour == 0 for b in prev.buckets())
    assert prev.end - prev.start == timedelta(hours=73)
    assert len(prev.buckets()) == len(r.buckets()) == 3


def test_previous_period_in_hours_across_the_repeated_hour() -> None:
    # New York, 2026-11-01: 01:00-02:00 happens twice; the previous 3 hours of [02:00 EST, 05:00 EST).
    ny = ZoneInfo("America/New_York")
    r = time_range("2026-11-01T02:00", "2026-11-01T05:00", "America/New_York", Granularity.hour, NOW)
    prev = r.previous()
    assert [b.astimezone(ny).isoformat()[11:] for b in prev.buckets()] == [
        "00:00:00-04:00",
        "01:00:00-04:00",
        "01:00:00-05:00",
    ]


def test_empty_and_oversized_ranges_are_served_not_refused() -> None:
    empty = time_range("-1m", "-2m", "UTC", Granularity.minute, NOW)
    assert empty.empty
    assert empty.buckets() == []
    assert empty.previous().empty
    # More than MAX_BUCKETS: the newest MAX_BUCKETS are served.
    r = time_range("-30d", None, "UTC", Granularity.minute, NOW)
    assert len(r.buckets()) == MAX_BUCKETS
    assert r.end == datetime(2026, 11, 21, 10, 31, tzinfo=UTC)
    # A total (no buckets served) keeps its whole range.
    total = time_range("-999999w", None, "Asia/Kathmandu", Granularity.minute, NOW, max_buckets=None)
    assert total.start_ms <= EARLIEST_MS < total.start_ms + HOUR_MS
    assert total.count() > MAX_BUCKETS
    assert total.previous().end == total.start


def test_unknown_zone_is_a_tz_error() -> None:
    with pytest.raises(ParamError) as err:
        time_range(None, None, "Mars/Olympus", Granularity.minute, NOW)
    assert err.value.param == "tz"
