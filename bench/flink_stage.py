"""Flink stage throughput: the pipeline's SQL over a pre-filled topic (bounded read), per part and all
together, beside DuckDB computing the same results over the same events in the same run.

    .venv/bin/python -m bench.flink_stage --events 200000          (needs `make up`; nothing else busy)

Each Flink run is a bounded job (it stops at the topic's end offsets) with blackhole sinks, except the
last, which writes to fresh Kafka topics with the exactly-once sinks of the product. events/s = events
in the topic / job duration (including the job's start, about a second or two). Writes
bench/results/flink-stage.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Annotated

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from core.settings import Settings, get_settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, Outgoing, apply_faults
from event_generator.producer import make_producer, send
from flink_jobs.pipeline import INSERTS, PLAN_VERSION, Topics, Variant, submit_pipeline
from flink_jobs.runner import TERMINAL_STATES, FlinkRest
from provisioning.topics import ensure_topic

RESULTS = Path(__file__).parent / "results"
VALIDATE = ("insert_dead_letters", "generated/insert_events")
PARTS: dict[str, tuple[str, ...]] = {
    "parse, validate, dedup (dead letters + events)": VALIDATE,
    "+ active users per minute": (*VALIDATE, "insert_active_users"),
    "+ product metrics per minute": (*VALIDATE, "insert_product_metrics"),
    "+ session metrics": (*VALIDATE, "insert_session_metrics"),
    "all (blackhole sinks)": INSERTS,
}


@dataclass
class Run:
    name: str
    seconds: float
    events_per_s: float


def prefill(settings: Settings, topic: str, count: int, jsonl: Path) -> int:
    seed = time.time_ns()
    stream = EventStream(seed, start=datetime.now(UTC) - timedelta(minutes=30), rate=count / 1800)
    shares = FaultShares(out_of_order=0.02, late=0.005, duplicate=0.01, malformed=0.01)
    outgoing: list[Outgoing] = list(apply_faults(islice(stream, count), shares, seed=seed))
    jsonl.write_bytes(b"\n".join(o.value for o in outgoing) + b"\n")
    ensure_topic(settings, topic, partitions=3)
    producer = make_producer(settings)
    report = send(producer, topic, outgoing)
    producer.close()
    return report.sent


def run_flink(
    settings: Settings,
    topic: str,
    name: str,
    inserts: tuple[str, ...],
    kafka: bool,
    plan_version: int,
    dimensions: dict[str, str],
) -> float:
    """Seconds the bounded job took; `dimensions` maps each Topics dim_* field to its (empty) topic."""
    tag = f"bench_{time.time_ns()}"
    outputs = [f for f in Topics.__dataclass_fields__ if f != "raw_events" and not f.startswith("dim_")]
    where = Topics(raw_events=topic, **dimensions, **({f: f"{tag}.{f}" for f in outputs} if kafka else {}))
    for field in outputs if kafka else []:
        ensure_topic(settings, getattr(where, field), partitions=3)
    variant = Variant(bounded=True, blackhole_sinks=not kafka, inserts=inserts)
    job_id = submit_pipeline(
        settings, where, job_name=tag, group_id=tag, variant=variant, plan_version=plan_version
    )
    with FlinkRest(settings) as rest:
        while (job := rest.job(job_id))["state"] not in TERMINAL_STATES:
            if job["state"] == "RESTARTING":  # a failed bounded run would restart (and re-read) forever
                rest.cancel(job_id)
                raise RuntimeError(f"{name}: job {job_id} failed; its exceptions are on the Flink dashboard")
            time.sleep(1.0)  # polling the job's state; the job's own clock gives the duration
    if job["state"] != "FINISHED":
        raise RuntimeError(f"{name}: job {job_id} ended {job['state']}")
    return float(job["duration"]) / 1000


DUCKDB_SQL = """
CREATE TEMP TABLE raw AS SELECT * FROM read_json('{path}', format='newline_delimited', ignore_errors=true,
  columns={{event_id:'VARCHAR', event_type:'VARCHAR', event_timestamp:'BIGINT', user_id:'VARCHAR',
           session_id:'VARCHAR', product_id:'VARCHAR', product_name:'VARCHAR', product_category:'VARCHAR',
           price:'DOUBLE', quantity:'INTEGER', order_id:'VARCHAR', total_amount:'DOUBLE'}});
CREATE TEMP TABLE accepted AS SELECT * FROM raw WHERE event_id IS NOT NULL AND event_timestamp IS NOT NULL
  QUALIFY row_number() OVER (PARTITION BY event_id) = 1;
SELECT count(*) FROM (SELECT event_timestamp // 60000 AS m, count(DISTINCT user_id),
  count(DISTINCT session_id), count(*) FROM accepted GROUP BY m);
SELECT count(*) FROM (SELECT event_timestamp // 60000 AS m, product_id, max(product_name),
  max(product_category), count(*) FILTER (WHERE event_type = 'product_view'),
  count(*) FILTER (WHERE event_type = 'add_to_cart'),
  count(*) FILTER (WHERE event_type = 'purchase'), sum(quantity) FILTER (WHERE event_type = 'purchase'),
  sum(total_amount), avg(price) FROM accepted WHERE product_id IS NOT NULL GROUP BY m, product_id);
SELECT count(*) FROM (SELECT session_id, max(user_id), count(*), count(DISTINCT product_id)
  FILTER (WHERE event_type = 'product_view'), count(DISTINCT order_id), sum(total_amount),
  min(event_timestamp), max(event_timestamp) FROM accepted GROUP BY session_id);
"""


def run_duckdb(jsonl: Path) -> float:
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for statement in DUCKDB_SQL.format(path=jsonl).split(";"):
        if statement.strip():
            con.execute(statement).fetchall()
    con.close()
    return time.perf_counter() - started


def main(
    events: Annotated[int, typer.Option(min=10_000, help="Events to pre-fill the topic with.")] = 200_000,
    parts: Annotated[bool, typer.Option(help="Also time each part on its own.")] = True,
    plan_version: Annotated[
        int,
        typer.Option(
            min=1,
            max=PLAN_VERSION,
            help="The job graph: 1 = views as SQL text (one deduplication per INSERT), 2 = shared views.",
        ),
    ] = PLAN_VERSION,
) -> None:
    settings = get_settings()
    console = Console()
    topic = f"bench.flink.{time.time_ns()}"
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = Path(tmp) / "events.jsonl"
        sent = prefill(settings, topic, events, jsonl)
        console.print(f"pre-filled {topic} with {sent:,} records")
        seconds = run_duckdb(jsonl)
        runs.append(Run("DuckDB, same results, same events (2 threads)", seconds, sent / seconds))
    # Fresh, empty dimension topics (every event enriched as "unknown"), shared by the runs: the stack
    # may have none, and a job whose source topic is missing restarts forever.
    dimensions = {f: f"{topic}.{f}" for f in Topics.__dataclass_fields__ if f.startswith("dim_")}
    for dimension_topic in dimensions.values():
        ensure_topic(settings, dimension_topic, partitions=3)
    selected = PARTS if parts else {"all (blackhole sinks)": INSERTS}
    for name, inserts in selected.items():
        seconds = run_flink(settings, topic, name, inserts, False, plan_version, dimensions)
        runs.append(Run(f"Flink: {name}", seconds, sent / seconds))
        console.print(f"{name}: {sent / seconds:,.0f} ev/s")
    seconds = run_flink(
        settings, topic, "all, exactly-once Kafka sinks", INSERTS, True, plan_version, dimensions
    )
    runs.append(Run("Flink: all (exactly-once Kafka sinks)", seconds, sent / seconds))

    table = Table(title=f"Flink stage over {sent:,} pre-filled events, plan version {plan_version}")
    for col in ("run", "seconds", "events/s", "DuckDB / this"):
        table.add_column(col, justify="left" if col == "run" else "right")
    reference = runs[0].events_per_s
    for r in runs:
        table.add_row(
            r.name, f"{r.seconds:.1f}", f"{r.events_per_s:,.0f}", f"{reference / r.events_per_s:.1f}x"
        )
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "flink-stage.json"
    out.write_text(
        json.dumps(
            {"events": sent, "plan_version": plan_version, "runs": [r.__dict__ for r in runs]}, indent=1
        )
    )
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
