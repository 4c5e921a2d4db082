"""Wire-level faults for testing the pipeline: out-of-order, late, duplicate and malformed events.

Applied after generation, so the clean stream stays reproducible and each fault is recorded with the
payload actually sent (the oracle reads what was sent, not what was meant).

Every payload goes out with its event time as the Kafka record timestamp (CreateTime): the pipeline
bounds event time by the record timestamp (RTA_MAX_LATENESS_S behind, RTA_MAX_FUTURE_S ahead), so a
stream that starts in the past (`rta-generate --start`) is history, counted in its own minutes, not
dead-lettered for being older than its send time.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import orjson

from core.events import BaseEvent, to_epoch_millis


class Fault(StrEnum):
    NONE = "none"
    OUT_OF_ORDER = "out_of_order"
    LATE = "late"
    DUPLICATE = "duplicate"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class FaultShares:
    out_of_order: float = 0.0
    late: float = 0.0
    duplicate: float = 0.0
    malformed: float = 0.0
    out_of_order_max: timedelta = timedelta(seconds=3)
    """Shifted back by at most this: within the watermark's bounded out-of-orderness, so still counted."""
    late_by: timedelta = timedelta(minutes=3)
    """Shifted back by this: behind the watermark by more than a window, so the window has closed."""

    def __post_init__(self) -> None:
        shares = (self.out_of_order, self.late, self.duplicate, self.malformed)
        if any(s < 0 for s in shares) or sum(shares) > 1:
            raise ValueError("fault shares must be >= 0 and add up to at most 1")


@dataclass(frozen=True)
class Outgoing:
    """One Kafka record to send: key, value, the fault it carries, and its record timestamp."""

    key: bytes | None
    """None = no key (Kafka's partitioner picks the partition)."""
    value: bytes
    fault: Fault
    timestamp_ms: int | None = None
    """The Kafka record timestamp (epoch millis) to send; None = Kafka stamps it with the send time."""


def _malformed(event: BaseEvent, rng: random.Random) -> bytes:
    wire = orjson.loads(event.to_json_bytes())
    kind = rng.randrange(5)
    if kind == 0:
        return event.to_json_bytes()[: rng.randrange(1, 40)]  # truncated JSON
    if kind == 1:
        wire["event_type"] = "refund"  # unknown type
    elif kind == 2:
        del wire["user_id"]  # missing field
    elif kind == 3:
        wire["event_timestamp"] = "yesterday"  # mistyped field
    else:
        wire["device_type"] = None
    return orjson.dumps(wire)


def apply_faults(events: Iterable[BaseEvent], shares: FaultShares, seed: int) -> Iterator[Outgoing]:
    """Yield keyed payloads (key = session_id) with faults mixed in at the given shares.

    Each record's timestamp is the event time of the payload sent (epoch millis): shifted with it for
    out-of-order and late events; the original event's for malformed ones (they never alter a valid
    event time), and the earlier copy's for duplicates (a redelivery of the same record).
    """
    rng = random.Random(seed ^ 0x5EED)
    recent: list[Outgoing] = []
    thresholds = (
        (Fault.OUT_OF_ORDER, shares.out_of_order),
        (Fault.LATE, shares.late),
        (Fault.DUPLICATE, shares.duplicate),
        (Fault.MALFORMED, shares.malformed),
    )
    for event in events:
        key = event.session_id.encode()
        millis = to_epoch_millis(event.event_timestamp)
        draw, fault = rng.random(), Fault.NONE
        for candidate, share in thresholds:
            if draw < share:
                fault = candidate
                break
            draw -= share
        if fault is Fault.OUT_OF_ORDER:
            back = timedelta(
                milliseconds=rng.randrange(1, int(shares.out_of_order_max.total_seconds() * 1000))
            )
            shifted = event.model_copy(update={"event_timestamp": event.event_timestamp - back})
            out = Outgoing(key, shifted.to_json_bytes(), fault, to_epoch_millis(shifted.event_timestamp))
        elif fault is Fault.LATE:
            shifted = event.model_copy(update={"event_timestamp": event.event_timestamp - shares.late_by})
            out = Outgoing(key, shifted.to_json_bytes(), fault, to_epoch_millis(shifted.event_timestamp))
        elif fault is Fault.MALFORMED:
            out = Outgoing(key, _malformed(event, rng), fault, millis)
        else:
            out = Outgoing(key, event.to_json_bytes(), Fault.NONE, millis)
        yield out
        if fault is Fault.DUPLICATE and recent:
            # A redelivery of an event sent shortly before: same bytes, same event_id, same timestamp.
            again = rng.choice(recent)
            yield Outgoing(again.key, again.value, Fault.DUPLICATE, again.timestamp_ms)
        if out.fault is Fault.NONE:
            recent.append(out)
            if len(recent) > 100:
                recent.pop(0)
