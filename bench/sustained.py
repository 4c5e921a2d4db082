"""End-to-end sustained rate and freshness on the running stack (`rta up` first; nothing else running).

Sends generator traffic at a fixed rate for a while (event time = send time) and samples every second:
- Flink's consumer lag on the raw topic (offsets committed at each checkpoint);
- ingestion delay: now - the newest ingest_time (the raw record's Kafka timestamp) queryable in Pinot;
- each minute's active-users row, to find when it reached its final value (window end -> complete row).
Prints a table and writes bench/results/sustained-<rate>.json.

    .venv/bin/python -m bench.sustained --rate 2000 --duration 180
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from bench.stats import percentile
from core import topics
from core.settings import Settings, get_settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, apply_faults
from event_generator.producer import SendReport, make_producer, send
from flink_jobs.pipeline import JOB_NAME
from query.pinot import Pinot

RESULTS = Path(__file__).parent / "results"
console = Console()


@dataclass
class Sample:
    t: float  # seconds since the start of sending
    lag: int  # raw-topic records not yet covered by Flink's committed offsets
    ingest_delay_s: float | None  # now - newest ingest_time queryable in Pinot


@dataclass
class Run:
    rate: float
    duration_s: float
    sent: int = 0
    send_rate: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    window_complete_s: dict[int, float] = field(default_factory=dict)  # window_start -> s after its end


def _lag(settings: Settings, admin: KafkaAdminClient, consumer: KafkaConsumer) -> int:
    parts = [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or []]
    ends = consumer.end_offsets(parts)
    committed = admin.list_group_offsets(JOB_NAME)[JOB_NAME]
    return sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in parts)


def measure(settings: Settings, rate: float, duration_s: float, settle_s: float) -> Run:
    run = Run(rate, duration_s)
    count = int(rate * duration_s)
    seed = time.time_ns()  # never a repeat of an earlier run's event_ids (they would be deduplicated)
    stream = EventStream(seed, start=datetime.now(UTC), rate=rate, users=20_000, products=2_000)
    outgoing = apply_faults(islice(stream, count), FaultShares(), seed=seed)
    report = SendReport()

    def sender() -> None:
        producer = make_producer(settings)
        nonlocal report
        report = send(producer, topics.EVENTS, outgoing, rate=rate)
        producer.close()

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    first_seen: dict[int, tuple[int, float]] = {}  # window_start -> (events, wall time first seen)
    thread = threading.Thread(target=sender, daemon=True)
    started = time.time()
    thread.start()
    with Pinot(settings) as pinot:
        while thread.is_alive() or time.time() - started < duration_s + settle_s:
            now = time.time()
            newest = pinot.rows(
                "SELECT MAX(ingest_time) AS t FROM events WHERE ingest_time >= :since",
                {"since": int(started * 1000)},
            )
            t = float(newest[0]["t"]) if newest else math.nan  # MAX over no rows is "-Infinity"
            delay = now - t / 1000 if math.isfinite(t) and t > 0 else None
            run.samples.append(Sample(now - started, _lag(settings, admin, consumer), delay))
            for row in pinot.rows(
                "SELECT window_start, events FROM active_users WHERE window_start >= :since LIMIT 1000",
                {"since": int(started * 1000)},
            ):
                seen = first_seen.get(row["window_start"])
                if seen is None or seen[0] != row["events"]:
                    first_seen[row["window_start"]] = (row["events"], now)
            time.sleep(max(0.0, 1.0 - (time.time() - now)))  # one sample per second
    thread.join()
    admin.close()
    consumer.close()
    run.sent, run.send_rate = report.sent, report.rate
    # A window is complete when its row took its final value; only whole minutes inside the run count.
    for start_ms, (_, at) in first_seen.items():
        if start_ms / 1000 >= started and start_ms / 1000 + 60 <= started + duration_s:
            run.window_complete_s[start_ms] = at - (start_ms / 1000 + 60)
    return run


def summarise(run: Run) -> dict[str, float | int | None]:
    steady = [s for s in run.samples if 30 <= s.t <= run.duration_s]  # skip the warm-up
    half = len(steady) // 2
    delays = [s.ingest_delay_s for s in steady if s.ingest_delay_s is not None]
    first, second = steady[:half], steady[half:]
    windows = list(run.window_complete_s.values())
    return {
        "rate_target": run.rate,
        "rate_sent": round(run.send_rate),
        "sent": run.sent,
        "lag_mean_first_half": round(statistics.fmean(s.lag for s in first)) if first else None,
        "lag_mean_second_half": round(statistics.fmean(s.lag for s in second)) if second else None,
        "ingest_delay_p50_s": round(percentile(delays, 0.5), 2) if delays else None,
        "ingest_delay_p95_s": round(percentile(delays, 0.95), 2) if delays else None,
        "windows": len(windows),
        "window_complete_p50_s": round(percentile(windows, 0.5), 2) if windows else None,
        "window_complete_p95_s": round(percentile(windows, 0.95), 2) if windows else None,
        "window_complete_max_s": round(max(windows), 2) if windows else None,
    }


def main(
    rate: Annotated[float, typer.Option(help="Generator events/s.", min=1)] = 2000,
    duration: Annotated[float, typer.Option(help="Seconds of traffic.", min=60)] = 180,
    settle: Annotated[float, typer.Option(help="Seconds to keep sampling after the traffic.")] = 30,
) -> None:
    settings = get_settings()
    run = measure(settings, rate, duration, settle)
    summary = summarise(run)
    table = Table(title=f"end to end at {rate:,.0f} ev/s for {duration:.0f}s")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int | float) else str(value))
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"sustained-{int(rate)}.json"
    out.write_text(json.dumps({"summary": summary, **asdict(run)}, indent=1, default=str))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
