"""The send loop's pacing: never ahead of the rate by more than one slice, one sleep per slice."""

from __future__ import annotations

import time
from typing import Any

import pytest

from event_generator.faults import Fault, Outgoing
from event_generator.producer import PACE_SLICE_S, send


class _Future:
    def __init__(self, sent: list[float]) -> None:
        self.sent = sent

    def add_callback(self, fn: Any) -> _Future:
        fn(None)
        return self

    def add_errback(self, fn: Any) -> _Future:
        return self


class FakeProducer:
    """Records when each record was handed over (monotonic seconds); every send succeeds."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def send(self, topic: str, **kwargs: Any) -> _Future:
        self.times.append(time.monotonic())
        return _Future(self.times)

    def flush(self) -> None:
        pass


def test_paced_sending_keeps_to_the_rate_with_one_sleep_per_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    real_sleep = time.sleep

    def counted(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", counted)  # the module calls time.sleep
    events = [Outgoing(key=b"k", value=b"{}", fault=Fault.NONE, timestamp_ms=None) for _ in range(500)]
    fake = FakeProducer()
    rate = 2000.0
    started = time.monotonic()
    report = send(fake, "t", events, rate=rate)
    assert report.sent == 500
    for i, at in enumerate(fake.times):  # never more than one slice ahead of the even spacing
        assert at - started >= i / rate - PACE_SLICE_S - 1e-3
    # 500 events at 2,000/s span 0.25 s: about 5 slices, not 500 sleeps
    assert len(sleeps) <= 0.25 / PACE_SLICE_S + 5
