"""End-to-end sustained rate and freshness on the running stack (`make up` first; nothing else busy).

For each rate: generator processes (the product's own CLI) send believable traffic for a while, event
time = send time, and every second the bench samples
- Flink's consumer lag on the raw topic (offsets committed at each checkpoint);
- ingestion delay: now - the newest ingest_time (the raw record's Kafka timestamp) queryable in Pinot;
- the API's per-minute active-users series, to see when each minute took its final value
  (window end -> final row served);
- CPU and RSS of every process of the stack (bench/footprint.py).
A rate holds when lag and ingestion delay do not grow from the first half of the run to the second.
Rates run in increasing order, each once the job has caught up; the first that fails ends the search.
Prints a table per rate and writes bench/results/sustained-<rate>-<duration>s.json.

    .venv/bin/python -m bench.sustained --rate 4000 --rate 8000 --duration 300
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import httpx
import pinotdb.exceptions
import typer
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from rich.console import Console
from rich.table import Table

from bench.footprint import Sampler
from bench.stats import percentile
from bench.traffic import generating
from core import topics
from core.datasets import JOB_NAME
from core.settings import Settings, get_settings
from query.pinot import Pinot, PinotError
from stack.apps import start_api
from stack.process import Supervisor

RESULTS = Path(__file__).parent / "results"
console = Console()


@dataclass
class Sample:
    t: float  # seconds since the start of sending
    lag: int | None  # raw-topic records not yet covered by Flink's committed offsets
    ingest_delay_s: float | None  # now - newest ingest_time queryable in Pinot


@dataclass
class Run:
    rate: float
    duration_s: float
    give_up_delay_s: float | None = None
    """Stop the run once the newest event queryable in Pinot is this many seconds old (after a minute)."""
    gave_up_at_s: float | None = None
    sent: int = 0
    send_rate: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    window_final_s: dict[str, float] = field(default_factory=dict)  # minute -> s after its end
    processes: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # failed samples (API or Pinot), with when


def _raw_partitions(consumer: KafkaConsumer) -> list[TopicPartition]:
    return [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or []]


def _lag(admin: KafkaAdminClient, consumer: KafkaConsumer) -> int | None:
    """None while Kafka cannot say yet (a new broker elects the group coordinator on first use)."""
    parts = _raw_partitions(consumer)
    try:
        ends = consumer.end_offsets(parts)
        committed = admin.list_group_offsets(JOB_NAME)[JOB_NAME]
    except KafkaError as exc:
        if exc.retriable:
            return None
        raise
    return int(sum(ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in parts))


def _end_offsets(consumer: KafkaConsumer) -> int:
    return sum(consumer.end_offsets(_raw_partitions(consumer)).values())


def _minutes(client: httpx.Client, since: datetime) -> dict[str, int]:
    """minute -> events, as the API serves them now."""
    response = client.get(
        "/metrics/active-users",
        params={"from": since.isoformat(), "to": "now", "granularity": "minute"},
    )
    response.raise_for_status()
    return {p["bucket"]: p["events"] for p in response.json()["data"]}


def _sample(
    settings: Settings,
    run: Run,
    started: float,
    since: datetime,
    generators: list[subprocess.Popen[bytes]],
    admin: KafkaAdminClient,
    consumer: KafkaConsumer,
    changed: dict[str, tuple[int, float]],
    settle_s: float,
) -> None:
    """Once a second until the traffic is over and settled: lag, ingestion delay, served minutes."""
    duration_s = run.duration_s
    with Pinot(settings) as pinot, httpx.Client(base_url=settings.api_url, timeout=10.0) as api:
        while any(g.poll() is None for g in generators) or time.time() - started < duration_s + settle_s:
            now = time.time()
            delay = None
            try:
                newest = pinot.rows(
                    "SELECT MAX(ingest_time) AS t FROM events WHERE ingest_time >= :since",
                    {"since": int(started * 1000)},
                )
                t = float(newest[0]["t"]) if newest else math.nan  # MAX over no rows is "-Infinity"
                delay = now - t / 1000 if math.isfinite(t) and t > 0 else None
                served = _minutes(api, since)
            except (httpx.HTTPError, pinotdb.exceptions.Error, PinotError) as exc:
                # A slow or failed answer is a finding, not the end of the run.
                run.errors.append(f"{now - started:.0f}s: {type(exc).__name__}: {exc}")
                served = {}
            sample = Sample(now - started, _lag(admin, consumer), delay)
            run.samples.append(sample)
            if hopeless(run, sample):
                run.gave_up_at_s = sample.t
                break
            for minute, events in served.items():
                seen = changed.get(minute)
                if seen is None or seen[0] != events:
                    changed[minute] = (events, now)
            if now - started > duration_s + settle_s + 120:
                break  # a backlog this large has already failed the rate
            time.sleep(max(0.0, 1.0 - (time.time() - now)))  # one sample per second


def hopeless(run: Run, sample: Sample) -> bool:
    """After the warm-up minute, the newest event Pinot serves is older than `give_up_delay_s`: the rate
    has already failed, and a longer run would only leave a longer backlog to drain. The ingestion delay,
    not the lag in records, since a lag means more or fewer seconds with the rate the generators reach."""
    return (
        run.give_up_delay_s is not None
        and sample.t > 60
        and sample.ingest_delay_s is not None
        and sample.ingest_delay_s > run.give_up_delay_s
    )


def measure(
    settings: Settings, rate: float, duration_s: float, settle_s: float, give_up_delay_s: float | None = None
) -> Run:
    run = Run(rate, duration_s, give_up_delay_s)
    RESULTS.mkdir(exist_ok=True)
    start_api(settings, Supervisor(settings.run_dir))
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    changed: dict[str, tuple[int, float]] = {}  # minute -> (events, wall time that value was first seen)
    offsets_before = _end_offsets(consumer)
    started = time.time()
    since = datetime.fromtimestamp(started // 60 * 60, UTC)
    with generating(rate, duration_s, RESULTS / "logs") as generators:
        sampler = Sampler(settings, extra={f"generator-{i}": g.pid for i, g in enumerate(generators)}).start()
        try:
            _sample(settings, run, started, since, generators, admin, consumer, changed, settle_s)
        finally:
            run.processes = sampler.stop()
    run.sent = _end_offsets(consumer) - offsets_before
    run.send_rate = run.sent / min(duration_s, run.gave_up_at_s or duration_s)
    admin.close()
    consumer.close()
    # A window's row is final when it took its last value; only whole minutes inside the run count.
    for minute, (events, at) in changed.items():
        end = datetime.fromisoformat(minute).timestamp() + 60
        if events and end - 60 >= started and end <= started + duration_s:
            run.window_final_s[minute] = at - end
    return run


def drain(settings: Settings, timeout_s: float = 600.0) -> None:
    """Wait until the job has caught up with the raw topic, so one run's backlog never starts the next."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    deadline = time.monotonic() + timeout_s
    try:
        while (lag := _lag(admin, consumer)) is None or lag > 1000:
            if time.monotonic() > deadline:
                raise SystemExit(f"bench.sustained: the job still lags {lag} records after {timeout_s:.0f}s")
            time.sleep(2.0)  # polling Kafka for the job's committed offsets
    finally:
        admin.close()
        consumer.close()


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def summarise(run: Run) -> dict[str, float | int | bool | None]:
    steady = [s for s in run.samples if 30 <= s.t <= run.duration_s]  # skip the warm-up
    if run.gave_up_at_s is not None:  # the backlog grew past the limit: the rate does not hold
        steady = steady or run.samples
    half = len(steady) // 2
    first, second = steady[:half], steady[half:]
    delays = [s.ingest_delay_s for s in steady if s.ingest_delay_s is not None]
    delay_first = _mean([s.ingest_delay_s for s in first if s.ingest_delay_s is not None])
    delay_second = _mean([s.ingest_delay_s for s in second if s.ingest_delay_s is not None])
    lag_first = _mean([float(s.lag) for s in first if s.lag is not None])
    lag_second = _mean([float(s.lag) for s in second if s.lag is not None])
    windows = list(run.window_final_s.values())
    # Holding: the backlog grows by less than two seconds of traffic and the delay by less than 2 s
    # between the halves (lag saw-tooths with the checkpoints that commit the offsets).
    holds = (
        None
        if None in (lag_first, lag_second, delay_first, delay_second)
        else bool(
            lag_second <= lag_first + 2 * run.rate  # type: ignore[operator]
            and delay_second <= delay_first + 2.0  # type: ignore[operator]
            and run.send_rate >= 0.95 * run.rate
            and run.gave_up_at_s is None
        )
    )
    return {
        "rate_target": run.rate,
        "rate_sent": round(run.send_rate),
        "gave_up_at_s": round(run.gave_up_at_s) if run.gave_up_at_s is not None else None,
        "sent": run.sent,
        "holds": holds,
        "lag_mean_first_half": lag_first,
        "lag_mean_second_half": lag_second,
        "ingest_delay_mean_first_half_s": delay_first,
        "ingest_delay_mean_second_half_s": delay_second,
        "ingest_delay_p50_s": round(percentile(delays, 0.5), 2) if delays else None,
        "ingest_delay_p95_s": round(percentile(delays, 0.95), 2) if delays else None,
        "failed_samples": len(run.errors),
        "windows": len(windows),
        "window_final_p50_s": round(percentile(windows, 0.5), 2) if windows else None,
        "window_final_p95_s": round(percentile(windows, 0.95), 2) if windows else None,
        "window_final_max_s": round(max(windows), 2) if windows else None,
    }


def print_processes(title: str, processes: dict[str, dict[str, float]]) -> None:
    table = Table(title=title)
    for col in ("process", "CPU % (mean; 100 = a core)", "RSS mean GiB", "RSS max GiB"):
        table.add_column(col, justify="left" if col == "process" else "right")
    for name, u in processes.items():
        table.add_row(
            name, f"{u['cpu_mean_percent']:.0f}", f"{u['rss_mean_gib']:.2f}", f"{u['rss_max_gib']:.2f}"
        )
    console.print(table)


def main(
    rate: Annotated[list[float], typer.Option(help="Generator events/s; repeat to try several.", min=1)],
    duration: Annotated[float, typer.Option(help="Seconds of traffic per rate.", min=60)] = 300,
    settle: Annotated[float, typer.Option(help="Seconds to keep sampling after the traffic.")] = 30,
    give_up_delay_s: Annotated[
        float | None,
        typer.Option(help="End a run early once Pinot's newest event is this many seconds old (after 60 s)."),
    ] = None,
) -> None:
    settings = get_settings()
    for r in sorted(rate):
        drain(settings)
        run = measure(settings, r, duration, settle, give_up_delay_s)
        summary = summarise(run)
        table = Table(title=f"end to end at {r:,.0f} ev/s for {duration:.0f}s")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in summary.items():
            shown = (
                f"{value:,}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)
            )
            table.add_row(key, shown)
        console.print(table)
        print_processes(f"processes at {r:,.0f} ev/s", run.processes)
        out = RESULTS / f"sustained-{int(r)}-{int(duration)}s.json"
        out.write_text(json.dumps({"summary": summary, **asdict(run)}, indent=1, default=str))
        console.print(f"wrote {out}")
        if summary["holds"] is not True:
            console.print(f"{r:,.0f} ev/s does not hold: higher rates are not tried")
            break


if __name__ == "__main__":
    typer.run(main)
