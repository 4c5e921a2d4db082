from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.timerange import Granularity, ParamError, parse_instant, time_range

NOW = datetime(2026, 11, 21, 10, 30, 15, tzinfo=UTC)


def test_relative_and_iso_instants() -> None:
    utc = ZoneInfo("UTC")
    assert parse_instant("-15m", NOW, utc, "from") == NOW - timedelta(minutes=15)
    assert parse_instant("-2h", NOW, utc, "from") == NOW - timedelta(hours=2)
    assert parse_instant("now", NOW, utc, "to") == NOW
    assert parse_instant("2026-11-21T09:00:00Z", NOW, utc, "from") == datetime(2026, 11, 21, 9, tzinfo=UTC)
    # A naive time is read in the request's time zone.
    paris = parse_instant("2026-11-21T09:00:00", NOW, ZoneInfo("Europe/Paris"), "from")
    assert paris == datetime(2026, 11, 21, 8, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "-15x", "15m", "2026-13-01", "-"])
def test_bad_instants_name_the_parameter(text: str) -> None:
    with pytest.raises(ParamError) as err:
        parse_instant(text, NOW, ZoneInfo("UTC"), "from")
    assert err.value.param == "from"


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


def test_range_errors() -> None:
    with pytest.raises(ParamError, match="before") as err:
        time_range("-1m", "-2m", "UTC", Granularity.minute, NOW)
    assert err.value.param == "from"
    with pytest.raises(ParamError) as err:
        time_range("-30d", None, "UTC", Granularity.minute, NOW)
    assert err.value.param == "from"
    with pytest.raises(ParamError) as err:
        time_range(None, None, "Mars/Olympus", Granularity.minute, NOW)
    assert err.value.param == "tz"
