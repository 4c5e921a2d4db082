"""The CPU budget of one event and the rewrites it causes downstream (issue 16: measure first).

On the running stack (`RTA_RUN_DIR=.run/bench rta up` first; nothing else busy):
1. at rest before any traffic: every process's CPU for `--idle` seconds;
2. `--rate` events/s from the product's generator for `--duration` seconds, sampled like bench.sustained
   (each process's CPU, the generator's included), until the job has caught up again;
3. at rest after the run, with the run's state still held: CPU again for `--idle` seconds;
4. every committed record each sink wrote during the run, counted (read_committed) per topic.

Prints, per process, CPU % at rest and under load and the CPU microseconds one event costs it: the
CPU seconds it used over the sampled window (the traffic and the settling after it) less what it uses
at rest, divided by the events sent. And per sink, output
records per raw event: how many times one event is written downstream. Writes
bench/results/budget-<rate>-<duration>s.json.

    .venv/bin/python -m bench.budget --rate 2000 --duration 180
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from kafka import KafkaConsumer, TopicPartition
from rich.console import Console
from rich.table import Table

from bench.footprint import Sampler
from bench.sustained import drain, measure, summarise
from core import topics
from core.datasets import DATASETS
from core.settings import Settings, get_settings
from stack.provision import serving

RESULTS = Path(__file__).parent / "results"
console = Console()


def _ends(settings: Settings, names: list[str]) -> dict[str, dict[int, int]]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, isolation_level="read_committed")
    try:
        out = {}
        for name in names:
            parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or []]
            out[name] = {tp.partition: int(o) for tp, o in consumer.end_offsets(parts).items()}
        return out
    finally:
        consumer.close()


def count_records(settings: Settings, topic: str, start: dict[int, int], end: dict[int, int]) -> int:
    """Committed records of `topic` between two offset snapshots (offsets also count transaction
    markers, which hold no record)."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        max_poll_records=5000,
    )
    try:
        parts = [TopicPartition(topic, p) for p in end]
        consumer.assign(parts)
        for tp in parts:
            consumer.seek(tp, start.get(tp.partition, 0))
        n = 0
        while any(consumer.position(tp) < end[tp.partition] for tp in parts):
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                n += sum(1 for m in batch if m.offset < end[tp.partition])
        return n
    finally:
        consumer.close()


def at_rest(settings: Settings, seconds: float) -> dict[str, dict[str, float]]:
    sampler = Sampler(settings).start()
    time.sleep(seconds)  # the measurement window itself, not a wait for readiness
    return sampler.stop()


def main(
    rate: Annotated[float, typer.Option(help="Generator events/s.", min=1)] = 2000,
    duration: Annotated[float, typer.Option(help="Seconds of traffic.", min=60)] = 180,
    idle: Annotated[float, typer.Option(help="Seconds of sampling at rest, before and after.", min=10)] = 60,
) -> None:
    settings = get_settings()
    generation = serving(settings)
    sinks = {d.name: generation.topic(d.topic) for d in DATASETS}
    drain(settings)
    before_rest = at_rest(settings, idle)
    start = _ends(settings, [topics.EVENTS, *sinks.values()])
    run = measure(settings, rate, duration, settle_s=30)
    drain(settings)
    end = _ends(settings, [topics.EVENTS, *sinks.values()])
    after_rest = at_rest(settings, idle)
    raw = sum(end[topics.EVENTS].values()) - sum(start[topics.EVENTS].values())
    writes = {name: count_records(settings, t, start[t], end[t]) for name, t in sinks.items()}
    sent_rate = raw / duration
    sampled_s = len(run.samples)  # one sample a second, from the first event until the job caught up

    # the generator may take longer than `duration` to send them all: the rate is over the window
    table = Table(title=f"CPU per event: {raw:,} events, {sampled_s} s sampled ({raw / sampled_s:,.0f} ev/s)")
    for col in ("process", "at rest before %", "under load %", "at rest after %", "µs per event"):
        table.add_column(col, justify="left" if col == "process" else "right")
    budget: dict[str, dict[str, float | None]] = {}
    for name, load in run.processes.items():  # with the sampler's TOTAL row
        rest = before_rest.get(name, {}).get("cpu_mean_percent", 0.0)
        after = after_rest.get(name, {}).get("cpu_mean_percent")
        # CPU seconds over the sampled window (traffic, then until caught up), less the idle share
        micros = (load["cpu_mean_percent"] - rest) / 100 * sampled_s / raw * 1e6 if raw else 0.0
        budget[name] = {
            "rest_before": rest,
            "load": load["cpu_mean_percent"],
            "rest_after": after,
            "us": micros,
        }
        table.add_row(
            name,
            f"{rest:.1f}",
            f"{load['cpu_mean_percent']:.1f}",
            "-" if after is None else f"{after:.1f}",
            f"{micros:,.0f}",
        )
    console.print(table)
    sinks_table = Table(title="records each sink wrote per raw event")
    sinks_table.add_column("dataset")
    sinks_table.add_column("records", justify="right")
    sinks_table.add_column("per raw event", justify="right")
    for name, n in writes.items():
        sinks_table.add_row(name, f"{n:,}", f"{n / raw:.3f}" if raw else "-")
    console.print(sinks_table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"budget-{int(rate)}-{int(duration)}s.json"
    out.write_text(
        json.dumps(
            {
                "raw_events": raw,
                "sent_rate": sent_rate,
                "budget": budget,
                "writes": writes,
                "summary": summarise(run),
            },
            indent=1,
            default=str,
        )
    )
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
