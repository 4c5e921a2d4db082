"""API latency per endpoint at a light load (one request at a time) against the running demo stack.

    .venv/bin/python -m bench.api_latency --requests 200

Prints p50/p95/p99 per endpoint and, when the API runs under the stack's supervisor (`make demo`, the
benchmarks), its CPU time per request (user + system, from /proc, over the endpoint's requests); writes
bench/results/api-latency.json. The load tests (50-1,000 requests/s with a real load tool) are
`bench.api_load`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

from bench.footprint import cpu_seconds
from bench.stats import percentile
from core.settings import get_settings
from stack.apps import API
from stack.process import Supervisor

RESULTS = Path(__file__).parent / "results"
ENDPOINTS = {
    "active-users (minute)": "/metrics/active-users?from=-15m",
    "active-users (hour, filtered)": "/metrics/active-users?from=-1d&granularity=hour&device_type=mobile",
    "products top 10": "/metrics/products?from=-1h&sort=revenue&limit=10",
    "products compare": "/metrics/products?from=-1h&sort=views&limit=10&compare=previous_period",
    "product series": "/metrics/products/p-00001?from=-30m",
    "sessions page": "/metrics/sessions?from=-15m&limit=20",
    "revenue": "/metrics/revenue?from=-30m",
    "funnel by device": "/metrics/funnel?from=-1h&breakdown=device_type",
    "data-quality": "/metrics/data-quality?from=-15m",
    "health": "/health",
}


def main(requests: Annotated[int, typer.Option(min=10)] = 200) -> None:
    settings = get_settings()
    results: dict[str, dict[str, object]] = {}
    api = Supervisor(settings.run_dir).find(API)
    pid = api.pid if api else None
    with httpx.Client(base_url=settings.api_url, timeout=30) as client:
        for name, path in ENDPOINTS.items():
            client.get(path)  # warm-up
            times, errors = [], 0
            cpu = cpu_seconds(pid)
            for _ in range(requests):
                started = time.perf_counter()
                r = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                errors += r.status_code != 200
            after = cpu_seconds(pid)
            results[name] = {
                "path": path,
                "p50_ms": round(percentile(times, 0.5), 1),
                "p95_ms": round(percentile(times, 0.95), 1),
                "p99_ms": round(percentile(times, 0.99), 1),
                "errors": errors,
                "cpu_us_per_request": None
                if cpu is None or after is None
                else round((after - cpu) * 1e6 / requests),
            }
    table = Table(title=f"API latency, {requests} sequential requests per endpoint")
    for col in ("endpoint", "p50 ms", "p95 ms", "p99 ms", "errors", "CPU µs/req"):
        table.add_column(col, justify="left" if col == "endpoint" else "right")
    for name, row in results.items():
        table.add_row(
            name, *(str(row[k]) for k in ("p50_ms", "p95_ms", "p99_ms", "errors", "cpu_us_per_request"))
        )
    Console().print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "api-latency.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    typer.run(main)
