"""rta-load: per line, the key and the Kafka record timestamp the contract's verdict gives; the CLI sends
every line (with a fake producer: no engines here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from kafka.errors import KafkaTimeoutError
from kafka.future import Future
from typer.testing import CliRunner

from core import topics
from core.contract import Code
from core.settings import Settings
from event_generator import load
from event_generator.faults import Fault

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def millis(dt: datetime) -> int:
    """Epoch millis of an aware datetime, sub-millisecond part truncated (independent of core.wire)."""
    return (dt - EPOCH) // timedelta(milliseconds=1)


def page_view(event_timestamp: object, **changes: object) -> dict[str, Any]:
    return {
        "event_id": "e-1",
        "event_type": "page_view",
        "event_timestamp": event_timestamp,
        "user_id": "u-1",
        "session_id": "s-1",
        "device_type": "mobile",
        "os": "iOS",
        "browser": "Safari",
        "location": "Lyon",
        "page_url": "/",
        "referrer_url": None,
        "time_spent": 12.5,
        **changes,
    }


def line(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def test_valid_epoch_millis_event_is_keyed_by_session_and_stamped_with_its_event_time() -> None:
    ts = millis(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    out, verdict = load.plan(line(page_view(ts)))
    assert verdict.accepted
    assert (out.key, out.timestamp_ms, out.fault) == (b"s-1", ts, Fault.NONE)
    assert out.value == line(page_view(ts))  # sent as is


def test_naive_iso_event_is_read_in_the_naive_zone() -> None:
    text = "2026-11-29T20:09:04.745207"  # datetime.utcnow().isoformat(), as reference producers write
    out, verdict = load.plan(line(page_view(text)))
    assert verdict.accepted
    assert out.key == b"s-1"
    assert out.timestamp_ms == millis(datetime(2026, 11, 29, 20, 9, 4, 745207, tzinfo=UTC))
    paris, _ = load.plan(line(page_view(text)), naive_zone="Europe/Paris")
    assert paris.timestamp_ms == millis(
        datetime(2026, 11, 29, 20, 9, 4, 745207, tzinfo=ZoneInfo("Europe/Paris"))
    )
    assert paris.timestamp_ms == out.timestamp_ms - 3_600_000  # CET is UTC+1 in November


def test_iso_event_with_an_offset_names_one_instant_whatever_the_naive_zone() -> None:
    text = "2026-11-29T21:09:04.745+01:00"
    want = millis(datetime(2026, 11, 29, 20, 9, 4, 745000, tzinfo=UTC))
    for zone in ("UTC", "America/New_York"):
        out, verdict = load.plan(line(page_view(text, session_id="s-2")), naive_zone=zone)
        assert verdict.accepted
        assert (out.key, out.timestamp_ms) == (b"s-2", want)


def test_invalid_event_with_a_readable_time_is_keyless_and_keeps_its_event_time() -> None:
    ts = millis(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    bad = page_view(ts)
    del bad["user_id"]
    out, verdict = load.plan(line(bad))
    assert verdict.code is Code.MISSING
    assert (out.key, out.timestamp_ms, out.fault) == (None, ts, Fault.MALFORMED)
    iso, verdict = load.plan(line(page_view("2026-11-27T10:00:00Z", device_type="fridge")))
    assert verdict.code is Code.NOT_ALLOWED
    assert (iso.key, iso.timestamp_ms) == (None, ts)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"event_type": "page_view"',  # not JSON
        b"[1, 2]",  # not an object
        line(page_view("yesterday")),  # not a time
        line(page_view(True)),  # a boolean is not epoch millis
        line(page_view(5)),  # 1970: outside the contract's range
        line(page_view(1.7e12)),  # float epoch millis
        line({k: v for k, v in page_view(0).items() if k != "event_timestamp"}),  # no time at all
    ],
)
def test_invalid_event_without_a_usable_time_is_keyless_and_left_to_kafka(payload: bytes) -> None:
    out, verdict = load.plan(payload)
    assert not verdict.accepted
    assert (out.key, out.timestamp_ms, out.value, out.fault) == (None, None, payload, Fault.MALFORMED)


def test_an_event_time_beyond_the_future_limit_goes_with_kafkas_send_time() -> None:
    ts = millis(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    ahead, verdict = load.plan(line(page_view(ts)), latest_ms=ts - 1)
    assert verdict.accepted
    assert (ahead.key, ahead.timestamp_ms) == (b"s-1", None)  # keyed still; dead-lettered as too far ahead
    at_limit, _ = load.plan(line(page_view(ts)), latest_ms=ts)
    assert at_limit.timestamp_ms == ts


def test_lines_lose_their_terminators_and_blank_lines_are_skipped() -> None:
    assert list(load.read_lines([b"a\n", b"\n", b"  \r\n", b"b\r\n", b" c "])) == [b"a", b"b", b" c "]


class FakeProducer:
    """Records what `send` hands to Kafka; every send succeeds unless `fail` is set."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes | None, bytes, int | None]] = []

    def send(
        self, topic: str, value: bytes, key: bytes | None = None, timestamp_ms: int | None = None
    ) -> Future:
        self.sent.append((topic, key, value, timestamp_ms))
        future = Future()
        return future.failure(KafkaTimeoutError("no broker")) if self.fail else future.success(None)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    seen: dict[str, Any] = {"producer": FakeProducer(), "topics": []}
    monkeypatch.setattr(load, "make_producer", lambda settings: seen["producer"])
    monkeypatch.setattr(
        load, "ensure_topic", lambda settings, name, partitions: seen["topics"].append((name, partitions))
    )
    return seen


def test_the_cli_sends_every_line_with_its_key_and_timestamp(
    tmp_path: Path, fake_kafka: dict[str, Any]
) -> None:
    ts = millis(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    good, naive = line(page_view(ts)), line(page_view("2026-11-27T10:00:00.000", session_id="s-9"))
    bad = b'{"event_type": "refund"}'
    path = tmp_path / "events.jsonl"
    path.write_bytes(good + b"\n\n" + naive + b"\r\n" + bad + b"\n")
    result = CliRunner().invoke(load.app, [str(path), "--topic", "history"])
    assert result.exit_code == 0, result.output
    assert fake_kafka["topics"] == [("history", topics.PARTITIONS)]
    assert fake_kafka["producer"].sent == [
        ("history", b"s-1", good, ts),
        ("history", b"s-9", naive, ts),
        ("history", None, bad, None),
    ]
    assert "sent 3 of 3 lines" in result.output
    assert "rejects 1 (lines by reason: {'not_allowed': 1})" in result.output


def test_the_cli_reads_stdin_for_a_dash(fake_kafka: dict[str, Any]) -> None:
    event = line(page_view("2026-11-27T11:00:00+01:00"))
    result = CliRunner().invoke(load.app, ["-", "--naive-zone", "Europe/Paris"], input=event + b"\n")
    assert result.exit_code == 0, result.output
    want = millis(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))
    assert fake_kafka["producer"].sent == [(topics.EVENTS, b"s-1", event, want)]


def test_the_cli_reads_naive_times_in_the_pipelines_zone_by_default(
    tmp_path: Path, fake_kafka: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "get_settings", lambda: Settings(naive_timestamp_zone="Asia/Tokyo"))
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(page_view("2026-11-27T19:00:00")) + b"\n")
    result = CliRunner().invoke(load.app, [str(path)])
    assert result.exit_code == 0, result.output
    want = millis(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # Tokyo is UTC+9
    assert [sent[3] for sent in fake_kafka["producer"].sent] == [want]


def test_the_cli_exits_1_when_a_send_fails(tmp_path: Path, fake_kafka: dict[str, Any]) -> None:
    fake_kafka["producer"] = FakeProducer(fail=True)
    path = tmp_path / "events.jsonl"
    path.write_bytes(line(page_view(millis(datetime(2026, 11, 27, tzinfo=UTC)))) + b"\n")
    result = CliRunner().invoke(load.app, [str(path)])
    assert result.exit_code == 1
    assert "errors 1" in result.output


def test_an_unknown_naive_zone_is_refused(tmp_path: Path, fake_kafka: dict[str, Any]) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"{}\n")
    result = CliRunner().invoke(load.app, [str(path), "--naive-zone", "Mars/Olympus"])
    assert result.exit_code == 2
    assert fake_kafka["producer"].sent == []
