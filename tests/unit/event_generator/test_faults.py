from collections import Counter
from datetime import UTC, datetime
from itertools import islice

import orjson
import pytest

from core.contract import InvalidEvent, check, parse_event, parse_payload
from core.events import to_epoch_millis
from event_generator.behaviour import EventStream
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults

START = datetime(2026, 1, 1, tzinfo=UTC)


def _run(n: int, shares: FaultShares, seed: int = 9) -> list[Outgoing]:
    return list(apply_faults(islice(EventStream(seed, start=START), n), shares, seed))


def test_no_faults_means_the_clean_stream_keyed_by_session() -> None:
    out = _run(500, FaultShares())
    assert {o.fault for o in out} == {Fault.NONE}
    assert all(o.key == parse_event(o.value).session_id.encode() for o in out)


@pytest.mark.slow
def test_shares_are_roughly_honoured_and_reproducible() -> None:
    shares = FaultShares(out_of_order=0.05, late=0.02, duplicate=0.03, malformed=0.04)
    out = _run(20000, shares)
    counts = Counter(o.fault for o in out)
    assert counts[Fault.OUT_OF_ORDER] == pytest.approx(1000, rel=0.15)
    assert counts[Fault.LATE] == pytest.approx(400, rel=0.2)
    assert counts[Fault.DUPLICATE] == pytest.approx(600, rel=0.2)
    assert counts[Fault.MALFORMED] == pytest.approx(800, rel=0.15)
    assert [o.value for o in out] == [o.value for o in _run(20000, shares)]


@pytest.mark.slow
def test_every_malformed_payload_fails_validation_and_nothing_else_does() -> None:
    for o in _run(5000, FaultShares(malformed=0.2, duplicate=0.05, out_of_order=0.05, late=0.05)):
        if o.fault is Fault.MALFORMED:
            with pytest.raises(InvalidEvent):
                parse_event(o.value)
        else:
            parse_event(o.value)


@pytest.mark.slow
def test_duplicates_repeat_an_earlier_payload_exactly() -> None:
    out = _run(5000, FaultShares(duplicate=0.05))
    sent_before: set[bytes] = set()
    for o in out:
        if o.fault is Fault.DUPLICATE:
            assert o.value in sent_before
        sent_before.add(o.value)


@pytest.mark.slow
def test_late_events_are_shifted_back_by_the_configured_delay() -> None:
    clean = [e.to_json_bytes() for e in islice(EventStream(9, start=START), 3000)]
    clean_ts = {orjson.loads(v)["event_id"]: orjson.loads(v)["event_timestamp"] for v in clean}
    late = [orjson.loads(o.value) for o in _run(3000, FaultShares(late=0.1)) if o.fault is Fault.LATE]
    assert late
    assert all(clean_ts[e["event_id"]] - e["event_timestamp"] == 180_000 for e in late)


@pytest.mark.slow
def test_every_record_carries_the_event_time_of_its_payload_as_kafka_timestamp() -> None:
    shares = FaultShares(out_of_order=0.05, late=0.05, duplicate=0.05, malformed=0.1)
    clean = {
        e.event_id: to_epoch_millis(e.event_timestamp) for e in islice(EventStream(9, start=START), 5000)
    }
    out = _run(5000, shares)
    assert {o.fault for o in out} == set(Fault)
    for o in out:
        verdict = check(o.value)
        if verdict.accepted:
            assert o.timestamp_ms == verdict.values["event_timestamp"], o
            # Stamped with its own event time, no valid event is outside the pipeline's lateness bound.
            assert check(o.value, record_timestamp_ms=o.timestamp_ms).accepted
        else:  # malformed: the original event's time (truncated JSON included)
            assert o.fault is Fault.MALFORMED
            assert o.timestamp_ms in clean.values()
            wire, _ = parse_payload(o.value)
            if isinstance(wire, dict) and "event_id" in wire:
                assert o.timestamp_ms == clean[wire["event_id"]]


def test_history_is_stamped_with_its_past_event_time() -> None:
    past = datetime(2020, 3, 1, 12, 0, tzinfo=UTC)
    out = list(apply_faults(islice(EventStream(3, start=past, rate=10), 100), FaultShares(), 3))
    assert [o.timestamp_ms for o in out] == [to_epoch_millis(past) + 100 * i for i in range(100)]


def test_shares_over_one_are_refused() -> None:
    with pytest.raises(ValueError, match="add up"):
        FaultShares(late=0.6, malformed=0.6)
