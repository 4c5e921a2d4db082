"""Send the event stream to Kafka: keyed by session_id, acks=all, idempotent, rate-limited.

Each record carries the timestamp its `Outgoing` names (the event time), or Kafka's send time when None.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from kafka import KafkaProducer
from kafka.errors import KafkaError

from core.settings import Settings
from event_generator.faults import Fault, Outgoing


@dataclass
class SendReport:
    sent: int = 0
    """Acknowledged by the broker (acks=all)."""
    errors: int = 0
    by_fault: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


# The send loop sleeps once it is this far ahead of its schedule, so one sleep covers a slice of events:
# sleeping before every event doubled the CPU cost of sending at 2,000 ev/s (docs/benchmarks.md 11).
PACE_SLICE_S = 0.05


def make_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,  # broker-side dedup of retried batches: a retry never doubles an event
        linger_ms=20,
        batch_size=256 * 1024,
        compression_type="lz4",
        client_id="rta-event-generator",
    )


def send(
    producer: KafkaProducer,
    topic: str,
    outgoing: Iterable[Outgoing],
    *,
    rate: float | None = None,
    on_progress: Callable[[SendReport], None] | None = None,
    progress_every_s: float = 2.0,
) -> SendReport:
    """Send everything (at `rate` events/s, or as fast as possible) and flush before returning.

    Paced sending runs at most PACE_SLICE_S ahead of an even spacing (events go in small bursts, each
    carrying its own event time, so the data is the same as with an even spacing).

    Each record goes with `out.timestamp_ms` as its Kafka timestamp (None: the producer's send time).
    A broker refuses a batch holding a timestamp more than `message.timestamp.after.max.ms` (1 h by
    default) ahead of its clock: its records count as errors.

    Ctrl-C stops the sending but not the flush: everything handed to the producer is delivered
    (or counted as an error) before this returns, so `sent` is exactly what Kafka acknowledged.
    """
    report = SendReport()
    started = time.monotonic()
    next_progress = started + progress_every_s

    def delivered(fault: Fault) -> Callable[[object], None]:
        def ok(_: object) -> None:
            report.sent += 1
            report.by_fault[fault.value] = report.by_fault.get(fault.value, 0) + 1

        return ok

    def failed(_: Exception) -> None:
        report.errors += 1

    try:
        for i, out in enumerate(outgoing):
            if rate:
                ahead = started + i / rate - time.monotonic()
                if ahead > PACE_SLICE_S:
                    time.sleep(ahead)  # pacing to the requested rate, at most one slice early
            try:
                future = producer.send(topic, key=out.key, value=out.value, timestamp_ms=out.timestamp_ms)
            except KafkaError:
                report.errors += 1
                continue
            future.add_callback(delivered(out.fault)).add_errback(failed)
            if on_progress and time.monotonic() >= next_progress:
                report.seconds = time.monotonic() - started
                on_progress(report)
                next_progress += progress_every_s
    except KeyboardInterrupt:
        pass
    finally:
        producer.flush()
        report.seconds = time.monotonic() - started
    return report
