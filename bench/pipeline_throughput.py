"""Pipeline throughput (issue 16, target 1): the product's own job, from a raw topic pre-filled with
`--events` records to every output row consumed by Pinot, timed end to end, with DuckDB computing the
figures Pinot must then serve from the same events.

    RTA_RUN_DIR=.run/bench rta down; rm -rf .run/bench
    RTA_RUN_DIR=.run/bench rta up --no-pipeline        (a fresh stack: no job, an empty raw topic)
    RTA_RUN_DIR=.run/bench .venv/bin/python -m bench.pipeline_throughput --events 1000000

1. The product's topics and Pinot tables are provisioned; the raw topic must be empty and the job's
   consumer group unknown, so the job's first read is the whole pre-fill.
2. The generator's code builds `--events` events (`--span-min` minutes of event time ending 40 minutes
   ago, the usual share of faults: 2 % out of order, 0.5 % late, 1 % duplicated, 1 % malformed) and
   sends them as fast as it can, after the product and customer dimension snapshots. Then ten valid
   events 35 minutes of event time after the last: the watermark passes every window of the pre-fill,
   the 30-minute SESSION windows of the visits included, so every row of the pre-fill is final.
3. The clock starts when the job is submitted (`rta provision`'s own path). The job has caught up once
   its consumer group has committed every raw offset and one more checkpoint has completed (the sinks
   commit their transactions on a completed checkpoint). Pinot has caught up once each table's consuming
   segments are past the last committed record of its topic. Then the served figures must equal
   DuckDB's: accepted events, dead letters, and the keys and event counts of the minute, product and
   session tables (upserted: Pinot counts a key's latest row).
4. Each process's CPU is sampled over the timed window: CPU microseconds per raw event per process.
   `--jfr` also records the TaskManager with Java Flight Recorder for 60 s from 20 s in and prints the
   busiest threads and frames: what bounds the throughput (the recording costs the job a little CPU
   during those 60 s; `--no-jfr` for the figure alone).

Writes bench/results/pipeline-throughput.json; exits 1 if a served figure differs from DuckDB's.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Annotated, BinaryIO

import duckdb
import orjson
import typer
from kafka import KafkaProducer
from rich.console import Console
from rich.table import Table
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

from bench.footprint import Sampler, stack_processes
from bench.jfr import Recording
from core import topics
from core.datasets import DATASETS, JOB_NAME
from core.settings import Settings, get_settings
from event_generator.behaviour import EventStream
from event_generator.dimensions import kafka_record, snapshot
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults
from event_generator.producer import make_producer, send
from flink_jobs.runner import TERMINAL_STATES, FlinkRest
from provisioning import pinot_tables
from query.pinot import Pinot
from stack import provision
from stack.backfill import TRANSIENT, after_last_record, committed_offsets, raw_end_offsets, reached

RESULTS = Path(__file__).parent / "results"
SHARES = FaultShares(out_of_order=0.02, late=0.005, duplicate=0.01, malformed=0.01)
TAIL_GAP = timedelta(minutes=35)  # past the visits' 30-minute inactivity gap and the watermark's delay
console = Console()


@dataclass
class Prefill:
    records: int = 0
    malformed: int = 0
    seconds: float = 0.0
    newest_ms: int = 0
    """The newest event time of a valid record."""


def _send_dimensions(producer: KafkaProducer, stream: EventStream, valid_from: datetime) -> None:
    catalog, register = snapshot(stream.catalog, stream.users, valid_from)
    for row in catalog:
        key, value = kafka_record(row)
        producer.send(topics.DIM_PRODUCTS, key=key, value=value)
    for person in register:
        key, value = kafka_record(person)
        producer.send(topics.DIM_CUSTOMERS, key=key, value=value)
    producer.flush()


def _recorded(outgoing: Iterable[Outgoing], jsonl: BinaryIO, seen: Prefill) -> Iterator[Outgoing]:
    """The records, each valid one also written to the JSONL DuckDB reads (the malformed only counted:
    they go to the dead letters, and DuckDB's JSON reader would accept some of them)."""
    for out in outgoing:
        seen.records += 1
        if out.fault is Fault.MALFORMED:
            seen.malformed += 1
        else:
            seen.newest_ms = max(seen.newest_ms, orjson.loads(out.value)["event_timestamp"])
            jsonl.write(out.value.replace(b"\n", b" ") + b"\n")
        yield out


def prefill(settings: Settings, count: int, span: timedelta, jsonl: Path) -> Prefill:
    """Send `count` events spanning `span` of event time ending 40 minutes ago, then the tail (the
    module docstring); the valid ones also go to `jsonl`."""
    seed = time.time_ns()
    first = datetime.now(UTC) - timedelta(minutes=40) - span
    stream = EventStream(seed, start=first, rate=count / span.total_seconds())
    producer = make_producer(settings)
    _send_dimensions(producer, stream, first - timedelta(hours=1))
    seen = Prefill()
    started = time.monotonic()
    with jsonl.open("wb") as out:
        errors = send(
            producer, topics.EVENTS, _recorded(apply_faults(islice(stream, count), SHARES, seed), out, seen)
        ).errors
        tail_start = datetime.fromtimestamp(seen.newest_ms / 1000, UTC) + TAIL_GAP
        tail = islice(EventStream(seed + 1, start=tail_start, rate=1.0), 10)
        errors += send(
            producer, topics.EVENTS, _recorded(apply_faults(tail, FaultShares(), seed), out, seen)
        ).errors
    producer.close()
    seen.seconds = time.monotonic() - started
    if errors:
        raise RuntimeError(f"{errors} records were not acknowledged by Kafka")
    return seen


ORACLE_SQL = """
CREATE TEMP TABLE accepted AS
  SELECT * FROM read_json('{path}', format='newline_delimited',
    columns={{event_id:'VARCHAR', event_type:'VARCHAR', event_timestamp:'BIGINT', session_id:'VARCHAR',
             product_id:'VARCHAR'}})
  QUALIFY row_number() OVER (PARTITION BY event_id) = 1;
SELECT
  (SELECT count(*) FROM accepted),
  (SELECT count(DISTINCT event_timestamp // 60000) FROM accepted),
  (SELECT count(DISTINCT (event_timestamp // 60000, product_id)) FROM accepted WHERE product_id IS NOT NULL),
  (SELECT count(*) FROM accepted WHERE product_id IS NOT NULL),
  (SELECT count(DISTINCT session_id) FROM accepted)
"""


def oracle(jsonl: Path, malformed: int) -> tuple[dict[str, int], float]:
    """The figures Pinot must serve once final, from the valid records (DuckDB, 2 threads), and the
    seconds DuckDB took."""
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    create, select = ORACLE_SQL.format(path=jsonl).split(";")
    con.execute(create)
    row = con.execute(select).fetchone()
    con.close()
    assert row is not None
    accepted, minutes, product_keys, product_events, sessions = (int(v) for v in row)
    figures = {
        "events rows": accepted,
        "dead_letters rows": malformed,
        "active_users keys": minutes,
        "active_users events": accepted,
        "product_metrics keys": product_keys,
        "product_metrics events": product_events,
        "session_metrics keys": sessions,
        "session_metrics events": accepted,
    }
    return figures, time.perf_counter() - started


def served(settings: Settings) -> dict[str, int]:
    """The same figures as Pinot serves them now (generation 0's tables: a fresh stack)."""
    with Pinot(settings, timeout_s=60.0) as pinot:

        def one(sql: str) -> int:
            rows = pinot.rows(sql)
            return int(float(next(iter(rows[0].values())))) if rows else 0

        out = {
            "events rows": one("SELECT COUNT(*) FROM events"),
            "dead_letters rows": one("SELECT COUNT(*) FROM dead_letters"),
        }
        for table in ("active_users", "product_metrics", "session_metrics"):
            out[f"{table} keys"] = one(f"SELECT COUNT(*) FROM {table}")
            out[f"{table} events"] = one(f"SELECT SUM(events) FROM {table}")
    return out


def _poll(check: Callable[[], bool], timeout_s: float, what: str, every_s: float = 1.0) -> float:
    """Poll `check` until true, riding out the errors of an engine slow to answer; the monotonic time it
    became true. Raises TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if check():
                return time.monotonic()
        except TRANSIENT:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(every_s)  # polling an engine's state: no event to wait on


def _group_has_offsets(settings: Settings) -> bool:
    """Whether the job's consumer group has committed offsets (a new broker first elects its coordinator)."""
    for attempt in Retrying(
        stop=stop_after_delay(60), wait=wait_fixed(1), retry=retry_if_exception_type(TRANSIENT), reraise=True
    ):
        with attempt:
            return bool(committed_offsets(settings, JOB_NAME))
    raise AssertionError("unreachable: Retrying re-raises the last error")


@dataclass
class Timings:
    """Monotonic times of each stage; `final` is None if Pinot never served DuckDB's figures."""

    submitted: float
    read: float
    committed: float
    consumed: float
    final: float | None


def run(settings: Settings, want: dict[str, int], timeout_s: float, recording: Recording | None) -> Timings:
    """Start the job (the product's provisioning path) and time each stage until Pinot serves `want`."""
    submitted = time.monotonic()
    job_id = provision.ensure_pipeline(settings).job_id
    if recording:
        recording.start()
    target = raw_end_offsets(settings)

    def checkpoints() -> int:
        with FlinkRest(settings) as rest:
            if (state := rest.state(job_id)) in TERMINAL_STATES:
                raise RuntimeError(f"job {job_id} is {state}; its exceptions are on the Flink dashboard")
            return int(rest.checkpoints(job_id)["counts"]["completed"])

    read = _poll(lambda: reached(committed_offsets(settings, JOB_NAME), target), timeout_s, "the replay")
    done = checkpoints()
    committed = _poll(lambda: checkpoints() > done, timeout_s, "one more checkpoint")
    outputs = {d.name: after_last_record(settings, d.topic) for d in DATASETS}

    def consumed() -> bool:
        return all(
            pinot_tables.consuming_offsets(table, settings).get(p, 0) >= end
            for table, ends in outputs.items()
            for p, end in ends.items()
        )

    pinot = _poll(consumed, timeout_s, "Pinot consuming every output")
    try:
        final: float | None = _poll(lambda: served(settings) == want, 120, "DuckDB's figures", every_s=2.0)
    except TimeoutError:
        final = None
    return Timings(submitted, read, committed, pinot, final)


def main(
    events: Annotated[
        int, typer.Option(min=10_000, help="Raw records to pre-fill the topic with.")
    ] = 1_000_000,
    span_min: Annotated[float, typer.Option(min=1, help="Minutes of event time the pre-fill spans.")] = 60.0,
    timeout: Annotated[float, typer.Option(min=60, help="Seconds to wait for each stage.")] = 3600.0,
    jfr: Annotated[
        bool, typer.Option(help="Profile the TaskManager for 60 s (Java Flight Recorder).")
    ] = True,
) -> None:
    settings = get_settings()
    provision.ensure_topics(settings)
    provision.ensure_tables(settings)
    if sum(raw_end_offsets(settings).values()) or _group_has_offsets(settings):
        raise typer.BadParameter(
            "the raw topic or the job's consumer group is not empty: start a fresh stack"
        )
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "events.jsonl"
        filled = prefill(settings, events, timedelta(minutes=span_min), jsonl)
        console.print(
            f"pre-filled {topics.EVENTS} with {filled.records:,} records in {filled.seconds:.0f} s "
            f"({filled.malformed:,} malformed); DuckDB computing the figures Pinot must serve"
        )
        want, duckdb_s = oracle(jsonl, filled.malformed)
        recording = None
        taskmanager = stack_processes(settings).get("flink-taskmanager")
        if jfr and taskmanager:
            recording = Recording(taskmanager, after_s=20, seconds=60, path=Path(tmp) / "taskmanager.jfr")
        sampler, sampling_from = Sampler(settings).start(), time.monotonic()
        try:
            times = run(settings, want, timeout, recording)
        finally:
            usage, sampled_s = sampler.stop(), time.monotonic() - sampling_from
            hottest = recording.hottest() if recording else {}
    got = served(settings)
    written = sum(sum(after_last_record(settings, d.topic).values()) for d in DATASETS)
    report(filled, want, got, usage, sampled_s, hottest, times, duckdb_s, written)
    if times.final is None:
        raise typer.Exit(1)


def report(
    filled: Prefill,
    want: dict[str, int],
    got: dict[str, int],
    usage: dict[str, dict[str, float]],
    sampled_s: float,
    hottest: dict[str, list[tuple[str, float]]],
    times: Timings,
    duckdb_s: float,
    written: int,
) -> None:
    raw = filled.records
    end = times.final or times.consumed
    total_s = end - times.submitted
    stages = Table(title=f"{raw:,} raw records, from the job's submission")
    for col in ("stage", "s", "raw records/s"):
        stages.add_column(col, justify="left" if col == "stage" else "right")
    for name, at in (
        ("the job committed every raw offset", times.read),
        ("+ one more checkpoint (the sinks' transactions committed)", times.committed),
        ("Pinot consumed every output record", times.consumed),
        ("Pinot serves DuckDB's figures" if times.final else "Pinot does NOT serve DuckDB's figures", end),
    ):
        stages.add_row(name, f"{at - times.submitted:.1f}", f"{raw / (at - times.submitted):,.0f}")
    stages.add_row(
        "DuckDB: the same figures from the same events", f"{duckdb_s:.1f}", f"{raw / duckdb_s:,.0f}"
    )
    console.print(stages)
    figures = Table(title="Pinot against DuckDB")
    for col in ("figure", "DuckDB", "Pinot"):
        figures.add_column(col, justify="left" if col == "figure" else "right")
    for name, value in want.items():
        style = None if got.get(name) == value else "red"
        figures.add_row(name, f"{value:,}", f"{got.get(name, 0):,}", style=style)
    console.print(figures)
    cpu = Table(
        title=f"CPU over the {sampled_s:.0f} s sampled (100 % = a core); "
        f"{written / raw:.2f} output records per raw"
    )
    for col in ("process", "CPU %", "µs per raw event", "RSS max GiB"):
        cpu.add_column(col, justify="left" if col == "process" else "right")
    budget = {}
    for name, row in usage.items():
        # CPU seconds over the sampled window (mean % x its length) per raw record
        budget[name] = round(row["cpu_mean_percent"] / 100 * sampled_s * 1e6 / raw, 1)
        cpu.add_row(
            name, f"{row['cpu_mean_percent']:.1f}", f"{budget[name]:,.0f}", f"{row['rss_max_gib']:.2f}"
        )
    console.print(cpu)
    for title, rows in hottest.items():
        console.print(f"TaskManager JFR, {title}: " + "; ".join(f"{name} {share} %" for name, share in rows))
    seconds = {
        "prefill": filled.seconds,
        "job_read": times.read - times.submitted,
        "job_committed": times.committed - times.submitted,
        "pinot_consumed": times.consumed - times.submitted,
        "final": times.final - times.submitted if times.final else None,
        "duckdb": duckdb_s,
    }
    result = {
        "date": datetime.now(UTC).isoformat(),
        "raw_records": raw,
        "malformed": filled.malformed,
        "output_records": written,
        "seconds": {k: round(v, 2) if v is not None else None for k, v in seconds.items()},
        "events_per_s": round(raw / total_s),
        "duckdb_events_per_s": round(raw / duckdb_s),
        "oracle": want,
        "served": got,
        "cpu": usage,
        "cpu_us_per_event": budget,
        "jfr": hottest,
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "pipeline-throughput.json"
    out.write_text(json.dumps(result, indent=1))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
