"""Generator speed: events/s built and serialised alone, and (with --kafka) produced to the running
stack's Kafka with acks=all.

    .venv/bin/python -m bench.generator --count 200000 [--kafka]
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.settings import get_settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, Outgoing, apply_faults
from event_generator.producer import make_producer, send
from provisioning.topics import ensure_topic

RESULTS = Path(__file__).parent / "results"


def _outgoing(count: int, seed: int) -> list[Outgoing]:
    stream = EventStream(seed, start=datetime.now(UTC), rate=1000.0, users=20_000, products=2_000)
    return list(apply_faults(islice(stream, count), FaultShares(), seed=seed))


def main(
    count: Annotated[int, typer.Option(min=1000)] = 200_000,
    kafka: Annotated[bool, typer.Option(help="Also produce to Kafka (acks=all).")] = False,
) -> None:
    console = Console()
    started = time.perf_counter()
    outgoing = _outgoing(count, time.time_ns())
    alone = count / (time.perf_counter() - started)
    result = {"count": count, "serialised_ev_s": round(alone)}
    console.print(f"built and serialised: {alone:,.0f} events/s ({count:,} events)")
    if kafka:
        settings = get_settings()
        topic = f"bench.generator.{time.time_ns()}"
        ensure_topic(settings, topic, partitions=3)
        producer = make_producer(settings)
        report = send(producer, topic, outgoing, rate=None)
        producer.close()
        result["produced_ev_s"] = round(report.rate)
        console.print(
            f"produced (acks=all, lz4, idempotent): {report.rate:,.0f} events/s, errors {report.errors}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generator.json").write_text(json.dumps(result))


if __name__ == "__main__":
    typer.run(main)
