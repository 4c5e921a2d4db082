"""`rta-load`: send exported events (JSON lines) to Kafka, each record stamped with its event time.

Input: one JSON event per line, as `rta-generate --record` writes or another system exports (UTF-8;
blank lines skipped; FILE `-` reads stdin). Every line is sent as is, byte for byte: the loader never
drops or rewrites input, the pipeline judges it (a reject reaches the dead-letter topic with its reason).

Per line, the event contract (`core.contract.check`; ISO times without offset read in `--naive-zone`,
by default the pipeline's RTA_NAIVE_TIMESTAMP_ZONE) decides:

- key: the event's session_id (UTF-8) when the contract accepts it, else none;
- Kafka record timestamp: the event time (epoch millis) when the event is valid, or when at least its
  `event_timestamp` reads as a time in the contract's range; else none (Kafka stamps the send time).
  So history passes the pipeline's lateness bound and counts in its own minutes and sessions. An event
  time more than RTA_MAX_FUTURE_S ahead of the clock is not used either: such a record goes with its
  send time and is dead-lettered as too far ahead, as from a live producer (a broker also refuses
  timestamps more than an hour ahead of its clock).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any
from zoneinfo import ZoneInfoNotFoundError

import typer
from rich.console import Console

from core import topics, wire
from core.contract import Verdict, check, parse_payload
from core.settings import get_settings
from event_generator.faults import Fault, Outgoing
from event_generator.producer import SendReport, make_producer, send
from provisioning.topics import ensure_topic

app = typer.Typer(help=__doc__, add_completion=False)
console = Console(stderr=True)


def event_millis(value: Any, naive_zone: str = "UTC") -> int | None:
    """Epoch millis of an `event_timestamp` value (integer millis or ISO-8601 text), or None when it is
    neither, or lies outside the contract's range [2000-01-01, 2070-01-01) UTC."""
    if isinstance(value, str):
        try:
            value = wire.iso_to_epoch_millis(value, naive_zone)
        except wire.TimestampFormatError:
            return None
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if wire.MIN_EVENT_MILLIS <= value < wire.MAX_EVENT_MILLIS else None


def plan(line: bytes, naive_zone: str = "UTC", latest_ms: int | None = None) -> tuple[Outgoing, Verdict]:
    """The record to send for one input line (value = the line as is) and the contract's verdict on it.

    Accepted: key = session_id, timestamp = event time. Rejected: no key, timestamp = the event time if
    `event_timestamp` still reads as one, else None. A timestamp after `latest_ms` (epoch millis) is
    replaced by None (Kafka's send time); `latest_ms` None = no such limit.
    """
    verdict = check(line, naive_zone=naive_zone)
    if verdict.accepted:
        key: bytes | None = str(verdict.values["session_id"]).encode()
        millis: int | None = verdict.values["event_timestamp"]
    else:
        key = None
        obj, _ = parse_payload(line)
        millis = event_millis(obj.get("event_timestamp"), naive_zone) if isinstance(obj, dict) else None
    if millis is not None and latest_ms is not None and millis > latest_ms:
        millis = None
    fault = Fault.NONE if verdict.accepted else Fault.MALFORMED
    return Outgoing(key, line, fault, millis), verdict


def read_lines(source: Iterable[bytes]) -> Iterator[bytes]:
    """The lines of a binary stream without their terminators (LF or CRLF); blank lines skipped."""
    for raw in source:
        line = raw[:-1] if raw.endswith(b"\n") else raw
        line = line[:-1] if line.endswith(b"\r") else line
        if line.strip():
            yield line


@dataclass
class LoadCounts:
    """What was handed to the producer: lines, the contract's rejects by reason code, and how many
    went without an event time (Kafka stamped them)."""

    lines: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    kafka_stamped: int = 0


def planned(
    lines: Iterable[bytes], naive_zone: str, max_future_ms: int, counts: LoadCounts
) -> Iterator[Outgoing]:
    """`plan` each line as it is sent (so the future limit follows the clock), counting into `counts`."""
    for line in lines:
        out, verdict = plan(line, naive_zone, latest_ms=time.time_ns() // 1_000_000 + max_future_ms)
        counts.lines += 1
        if verdict.code is not None:
            counts.rejected[str(verdict.code)] += 1
        if out.timestamp_ms is None:
            counts.kafka_stamped += 1
        yield out


def _zone(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        wire.zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"unknown time zone {name!r}") from exc
    return name


@app.command()
def load(
    file: Annotated[
        typer.FileBinaryRead, typer.Argument(metavar="FILE.jsonl", help="JSON lines to send; - = stdin.")
    ],
    topic: Annotated[str, typer.Option()] = topics.EVENTS,
    naive_zone: Annotated[
        str | None,
        typer.Option(
            callback=_zone,
            help="IANA zone of event timestamps without an offset; default RTA_NAIVE_TIMESTAMP_ZONE, the "
            "zone the pipeline reads them in (a different one shifts their record timestamps).",
            show_default=False,
        ),
    ] = None,
    rate: Annotated[float, typer.Option(help="Records per second; 0 = as fast as possible.", min=0)] = 0.0,
) -> None:
    """Send every line of FILE to Kafka, keyed by session_id, with its event time as record timestamp."""
    settings = get_settings()
    ensure_topic(settings, topic, partitions=topics.PARTITIONS)
    producer = make_producer(settings)
    counts = LoadCounts()
    zone = naive_zone or settings.naive_timestamp_zone
    outgoing = planned(read_lines(file), zone, settings.max_future_s * 1000, counts)

    def progress(r: SendReport) -> None:
        console.print(f"sent {r.sent:,}  {r.rate:,.0f} rec/s  errors {r.errors}", highlight=False)

    report = send(producer, topic, outgoing, rate=rate or None, on_progress=progress)
    producer.close()
    rejects = report.by_fault.get(Fault.MALFORMED.value, 0)
    console.print(
        f"done: sent {report.sent:,} of {counts.lines:,} lines to {topic} in {report.seconds:.1f}s "
        f"({report.rate:,.0f} rec/s), errors {report.errors}; of those sent, the contract rejects "
        f"{rejects:,} (lines by reason: {dict(sorted(counts.rejected.items()))}); "
        f"{counts.kafka_stamped:,} lines without a usable event time went with Kafka's send time",
        highlight=False,
    )
    if report.errors:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
