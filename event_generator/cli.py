"""`rta-generate`: send believable e-commerce events to Kafka."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Annotated

import orjson
import typer
from kafka import KafkaProducer
from rich.console import Console

from core import topics
from core.dimensions import CustomerInfo, ProductInfo
from core.events import from_epoch_millis
from core.settings import get_settings
from event_generator.behaviour import EventStream
from event_generator.dimensions import Changes, kafka_record, snapshot
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults
from event_generator.producer import SendReport, make_producer, send
from provisioning.topics import DIMENSION_TOPIC_CONFIG, ensure_topic

app = typer.Typer(help=__doc__, add_completion=False)
console = Console(stderr=True)
Share = Annotated[float, typer.Option(min=0.0, max=1.0)]


@app.command()
def generate(
    rate: Annotated[float, typer.Option(help="Events per second; 0 = as fast as possible.", min=0)] = 50.0,
    count: Annotated[int | None, typer.Option(help="Stop after this many events.", min=1)] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.", min=0)] = None,
    seed: Annotated[
        int | None,
        typer.Option(help="Same seed (and start and rate) = same events; default a new seed per run."),
    ] = None,
    users: Annotated[int, typer.Option(min=1)] = 2_000,
    products: Annotated[int, typer.Option(min=1)] = 500,
    start: Annotated[
        datetime | None, typer.Option(help="Event time of the first event (default now, UTC).")
    ] = None,
    topic: Annotated[str, typer.Option()] = topics.EVENTS,
    out_of_order: Share = 0.0,
    late: Share = 0.0,
    duplicate: Share = 0.0,
    malformed: Share = 0.0,
    record: Annotated[
        Path | None, typer.Option(help="Also write every sent payload to this JSONL file.")
    ] = None,
    changes_per_minute: Annotated[
        float,
        typer.Option(
            help="Price changes and customer moves per minute of event time (dimension topics).", min=0
        ),
    ] = 1.0,
) -> None:
    """Generate shopping sessions and send them to Kafka, keyed by session_id."""
    settings = get_settings()
    first = (start.replace(tzinfo=start.tzinfo or UTC)) if start else datetime.now(UTC)
    nominal_rate = rate or 1000.0  # event-time spacing when sending as fast as possible
    if seed is None:  # a repeated seed repeats event_ids, which the pipeline drops as duplicates
        seed = time.time_ns()
    console.print(f"seed {seed}", highlight=False)
    stream = EventStream(seed, start=first, rate=nominal_rate, users=users, products=products)
    limit = count if count is not None else (int(duration * nominal_rate) if duration is not None else None)
    events = islice(stream, limit) if limit is not None else stream
    try:
        shares = FaultShares(out_of_order=out_of_order, late=late, duplicate=duplicate, malformed=malformed)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    outgoing = apply_faults(events, shares, seed)
    if record is not None:
        outgoing = _recording(outgoing, record)

    ensure_topic(settings, topic, partitions=topics.PARTITIONS)
    producer = make_producer(settings)
    # The catalogue and the customers as of an hour before the first event (late events included),
    # then a change every so often: the dimension versions the job joins events with.
    for name in (topics.DIM_PRODUCTS, topics.DIM_CUSTOMERS):
        ensure_topic(settings, name, partitions=topics.PARTITIONS, config=DIMENSION_TOPIC_CONFIG)
    catalog, register = snapshot(stream.catalog, stream.users, first - timedelta(hours=1))
    for row in catalog:
        _send_dimension(producer, row)
    for person in register:
        _send_dimension(producer, person)
    if changes_per_minute:
        every = max(1, round(nominal_rate * 60 / changes_per_minute))
        outgoing = _changing(outgoing, Changes(stream, seed), every, producer)

    def progress(r: SendReport) -> None:
        console.print(f"sent {r.sent:,}  {r.rate:,.0f} ev/s  errors {r.errors}", highlight=False)

    report = send(producer, topic, outgoing, rate=rate or None, on_progress=progress)
    producer.close()
    console.print(
        f"done: sent {report.sent:,} events to {topic} in {report.seconds:.1f}s "
        f"({report.rate:,.0f} ev/s), errors {report.errors}, by fault {report.by_fault}",
        highlight=False,
    )
    if report.errors:
        raise typer.Exit(1)


def _send_dimension(producer: KafkaProducer, row: ProductInfo | CustomerInfo) -> None:
    key, value = kafka_record(row)
    topic = topics.DIM_CUSTOMERS if isinstance(row, CustomerInfo) else topics.DIM_PRODUCTS
    producer.send(topic, key=key, value=value)


def _changing(
    outgoing: Iterator[Outgoing], changes: Changes, every: int, producer: KafkaProducer
) -> Iterator[Outgoing]:
    """The events, with a dimension change sent before every `every`-th, valid from its event time."""
    for i, out in enumerate(outgoing, start=1):
        if i % every == 0:
            at = orjson.loads(out.value).get("event_timestamp") if out.fault is Fault.NONE else None
            if isinstance(at, int):
                _send_dimension(producer, changes.next(from_epoch_millis(at)))
        yield out


def _recording(outgoing: Iterator[Outgoing], path: Path) -> Iterator[Outgoing]:
    with path.open("wb") as f:
        for out in outgoing:
            f.write(out.value.replace(b"\n", b" ") + b"\n")
            yield out


if __name__ == "__main__":
    app()
