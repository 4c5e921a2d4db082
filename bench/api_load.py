"""The API under load: each endpoint at fixed request rates with `vegeta` (an open-model HTTP load tool),
while the generator ingests, and the same SQL sent straight to the Pinot broker to show the API's own
overhead.

    .venv/bin/python -m bench.api_load                      (needs `make up`; nothing else busy)

vegeta sends at the set rate, evenly spaced, whatever the latency: a slow answer does not delay the
next request, so queueing shows in the latency rather than as a lower rate. Every request counts: one
that times out (10 s) or fails is an error, and `achieved_rps` counts 2xx answers only. Each API row
also has the API process's CPU time per request (user + system, from /proc, over the row's requests).
After the rates, the answers the query cache can serve (CACHEABLE) are tried at `--peak` requests/s.
Writes bench/results/api-load.json.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from fastapi import Request
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table

from api.deps import get_pinot
from api.main import create_app
from bench.api_latency import ENDPOINTS
from bench.footprint import cpu_seconds, sampling
from bench.stats import percentile
from bench.tools import ensure_vegeta
from bench.traffic import generating
from core.settings import Settings, get_settings
from query.pinot import Queryable
from query.sql import Value, bind
from stack.apps import API, start_api
from stack.process import Supervisor

RESULTS = Path(__file__).parent / "results"
console = Console()
# Endpoints also timed straight against the broker, query for query.
DIRECT = ("active-users (minute)", "products top 10", "revenue")
# Answers the API can serve from its query cache, also tried at `--peak` requests/s (issue 16: at least
# 2,000/s for such an answer): the constant /health and one short metric range asked again and again.
CACHEABLE = ("health", "active-users (minute)")


@dataclass
class Result:
    target: str
    rate: float
    achieved_rps: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu_us_per_request: float | None = None
    sent: int = 0
    """Requests vegeta sent: below rate * seconds when 1,000 were in flight (`achieved_rps` counts 2xx)."""


def vegeta(
    binary: Path, url: str, rate: float, seconds: float, body: bytes | None = None
) -> tuple[list[float], int]:
    """(latencies of 2xx answers in ms, other outcomes) for `seconds` at `rate` requests/s."""
    with tempfile.TemporaryDirectory() as scratch:
        target = f"GET {url}\n"
        if body is not None:
            (Path(scratch) / "body").write_bytes(body)
            target = f"POST {url}\nContent-Type: application/json\n@{Path(scratch) / 'body'}\n"
        # at most 1,000 requests in flight: beyond that the rate falls
        limits = [f"-rate={rate:g}/s", f"-duration={seconds:g}s", "-timeout=10s", "-max-workers=1000"]
        limits.append("-max-body=0")  # the answers' bodies are not needed
        attack = subprocess.run(
            [str(binary), "attack", *limits],
            input=target.encode(),
            check=True,
            capture_output=True,
        )
        encoded = subprocess.run(
            [str(binary), "encode", "--to", "csv"], input=attack.stdout, check=True, capture_output=True
        )
    return parse_vegeta_csv(encoded.stdout.decode())


def parse_vegeta_csv(text: str) -> tuple[list[float], int]:
    """vegeta's per-request CSV (timestamp, code, latency ns, ...) -> (latencies in ms of 2xx answers,
    count of the rest: other statuses, and code 0 for a timeout or a refused connection)."""
    latencies, errors = [], 0
    for row in csv.reader(io.StringIO(text)):
        if row[1].startswith("2"):
            latencies.append(int(row[2]) / 1e6)
        else:
            errors += 1
    return latencies, errors


def summarise(
    target: str,
    rate: float,
    seconds: float,
    latencies: list[float],
    errors: int,
    cpu_s: float | None = None,
) -> Result:
    def pct(q: float) -> float:
        return round(percentile(latencies, q), 1) if latencies else math.nan

    return Result(
        target,
        rate,
        round(len(latencies) / seconds, 1),
        len(latencies),
        errors,
        pct(0.5),
        pct(0.95),
        pct(0.99),
        round(cpu_s * 1e6 / (len(latencies) + errors), 1) if cpu_s is not None and latencies else None,
        len(latencies) + errors,
    )


@dataclass
class _Recording:
    """A Pinot client that keeps the bound SQL of every query before passing it on."""

    inner: Queryable
    sent: list[str]

    def rows(self, sql: str, params: Mapping[str, Value] | None = None) -> list[dict[str, Any]]:
        self.sent.append(bind(sql, params or {}))
        return self.inner.rows(sql, params)


def captured_sql(settings: Settings, path: str) -> list[str]:
    """The SQL the API sends to Pinot for one request (the app run in-process, its Pinot dependency
    overridden by a recording one, as a test would)."""
    sent: list[str] = []

    async def recording(request: Request) -> Queryable:
        return _Recording(await get_pinot(request), sent)

    app = create_app(settings)
    app.dependency_overrides[get_pinot] = recording
    with TestClient(app) as client:
        client.get(path).raise_for_status()
    return sent


def main(
    rate: Annotated[list[float], typer.Option(help="Requests/s to try; repeat.")] = [50, 300, 1000],  # noqa: B006
    seconds: Annotated[float, typer.Option(help="Seconds per endpoint and rate.", min=2)] = 10,
    ingest: Annotated[float, typer.Option(help="Events/s the generator sends meanwhile.", min=0)] = 1000,
    broker: Annotated[
        bool, typer.Option(help="Also send some endpoints' SQL straight to the broker.")
    ] = True,
    peak: Annotated[
        float, typer.Option(help="Requests/s to also try on the cacheable answers (0: none).", min=0)
    ] = 2000,
) -> None:
    settings = get_settings()
    binary = ensure_vegeta()
    supervisor = Supervisor(settings.run_dir)
    supervisor.stop(API)  # a fresh API process with this environment's settings (RTA_API_CACHE_TTL_S)
    start_api(settings, supervisor)
    results: list[Result] = []
    direct = {name: captured_sql(settings, ENDPOINTS[name]) for name in DIRECT} if broker else {}
    broker_url = f"{settings.pinot_broker_url}/query/sql"
    peaks = [(peak, name) for name in CACHEABLE] if peak else []
    total_s = (len(rate) * (len(ENDPOINTS) + sum(map(len, direct.values()))) + len(peaks)) * (
        seconds + 2
    ) + 60
    api_process = supervisor.find(API)
    api_pid = api_process.pid if api_process else None
    with (
        generating(ingest, total_s, RESULTS / "logs"),
        sampling(settings, extra={"api": api_pid} if api_pid else None) as sampler,
    ):
        for r, name in [(r, name) for r in rate for name in ENDPOINTS] + peaks:
            before = cpu_seconds(api_pid)
            latencies, errors = vegeta(binary, f"{settings.api_url}{ENDPOINTS[name]}", r, seconds)
            after = cpu_seconds(api_pid)
            cpu = after - before if after is not None and before is not None else None
            results.append(summarise(f"API {name}", r, seconds, latencies, errors, cpu))
            console.print(asdict(results[-1]), highlight=False)
        # Last: Pinot does not cancel a query its client gave up on, so a broker row that floods it would
        # slow the API rows after it.
        for r in rate:
            for name, statements in direct.items():
                for i, sql in enumerate(statements, start=1):
                    body = orjson.dumps({"sql": sql})
                    latencies, errors = vegeta(binary, broker_url, r, seconds, body=body)
                    results.append(
                        summarise(f"broker {name} q{i}/{len(statements)}", r, seconds, latencies, errors)
                    )
                    console.print(asdict(results[-1]), highlight=False)
    table = Table(title=f"API under load ({seconds:.0f}s per row, generator at {ingest:,.0f} ev/s)")
    for col in ("target", "rate", "sent", "achieved/s", "p50 ms", "p95 ms", "p99 ms", "errors", "CPU µs/req"):
        table.add_column(col, justify="left" if col == "target" else "right")
    for res in results:
        table.add_row(
            res.target,
            f"{res.rate:.0f}",
            f"{res.sent:,}",
            f"{res.achieved_rps:.0f}",
            f"{res.p50_ms}",
            f"{res.p95_ms}",
            f"{res.p99_ms}",
            str(res.errors),
            "" if res.cpu_us_per_request is None else f"{res.cpu_us_per_request:.0f}",
        )
    console.print(table)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "api-load.json"
    payload = {"results": [asdict(x) for x in results], "sql": direct, "processes": sampler.summary()}
    out.write_text(json.dumps(payload, indent=1))
    console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
