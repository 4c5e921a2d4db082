"""Generator speed: events/s built and serialised alone, and (with --kafka) produced to the running
stack's Kafka with acks=all, as fast as it goes or paced at `--rate` as the live generator runs. Each
step also reports its CPU time per event (`time.process_time()`: every thread of this process, the
producer's sender thread included).

    .venv/bin/python -m bench.generator --count 200000 [--kafka] [--rate 2000]
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
    rate: Annotated[float, typer.Option(help="Pace the sending at this many events/s (0: unpaced).")] = 0,
) -> None:
    console = Console()
    started, cpu = time.perf_counter(), time.process_time()
    outgoing = _outgoing(count, time.time_ns())
    alone = count / (time.perf_counter() - started)
    build_us = (time.process_time() - cpu) * 1e6 / count
    result: dict[str, float] = {
        "count": count,
        "serialised_ev_s": round(alone),
        "build_cpu_us": round(build_us),
    }
    console.print(
        f"built and serialised: {alone:,.0f} events/s ({count:,} events), {build_us:.0f} µs CPU/event"
    )
    if kafka:
        settings = get_settings()
        topic = f"bench.generator.{time.time_ns()}"
        ensure_topic(settings, topic, partitions=3)
        producer = make_producer(settings)
        cpu = time.process_time()
        report = send(producer, topic, outgoing, rate=rate or None)
        send_us = (time.process_time() - cpu) * 1e6 / count
        producer.close()
        result |= {"produced_ev_s": round(report.rate), "rate": rate, "send_cpu_us": round(send_us)}
        console.print(
            f"produced (acks=all, lz4, idempotent{f', paced at {rate:g}/s' if rate else ''}): "
            f"{report.rate:,.0f} events/s, errors {report.errors}, {send_us:.0f} µs CPU/event"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generator.json").write_text(json.dumps(result))


if __name__ == "__main__":
    typer.run(main)
