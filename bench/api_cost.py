"""CPU per cached answer inside the API process, without HTTP, engines or a load generator.

`python -m bench.api_cost [--requests 5000] [--rounds 3] [--route /metrics/revenue?from=-1h] [--profile]`

Target 5b (2,000 cacheable answers/s) is bound by one uvicorn worker's CPU per answer. Over HTTP that
figure mixes in the server's parser, the load generator and whatever else the 2 cores run; this
benchmark calls the ASGI app directly (one request at a time, a warm query cache, Pinot's answers
canned: every query is answered from the cache, as under load), so a change to the request path
(dependencies, validation, serialisation) shows alone. Prints µs of CPU per request
(`time.process_time`, all threads of the process) for each route, median of `--rounds`, twice: computed
from the query cache (the response cache off) and answered whole by the response cache (as the API
runs: each route computed once a second, the other requests of the second served its bytes).
`--profile` adds a cProfile of one computed round sorted by cumulative time. Writes
bench/results/api-cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from api.main import create_app
from api.response_cache import ResponseCache
from core.settings import Settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot
from query.serving import ServedTables

ROUTES = (
    "/health",
    "/metrics/active-users?from=-15m",
    "/metrics/revenue?from=-1h",
    "/metrics/products?from=-1h&sort=revenue&limit=10",
)
RESULTS = Path(__file__).parent / "results"


def canned_pinot(settings: Settings) -> Pinot:
    """The API's own client and query cache, with every query answered at once: no rows, except the
    freshness probe (the newest event a few seconds before the query). The routes read the real clock:
    a new minute is a new range, one round of misses a minute."""
    pinot = Pinot(settings, cache=QueryCache(ttl_s=3600))

    def query(sql: str) -> list[dict[str, Any]]:
        if sql.startswith("SELECT MAX(event_timestamp) AS t FROM"):
            return [{"t": time.time() * 1000 - 5000}]
        return []

    pinot._query = query  # type: ignore[method-assign]
    return pinot


class Driver:
    """Sends GET requests straight to an ASGI app, one at a time, and checks each answers 200."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def get(self, target: str) -> int:
        url = urlsplit(target)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": url.path,
            "raw_path": url.path.encode(),
            "query_string": url.query.encode(),
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
            "app": self.app,
        }
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # the app never waits for a disconnect on these routes
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await self.app(scope, receive, send)
        return status


async def measure(route: str, requests: int, rounds: int, profile: bool, responses: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as run_dir:
        settings = Settings(port_offset=31000, run_dir=Path(run_dir), alert_interval_s=0)
        app = create_app(settings)
        pinot = canned_pinot(settings)
        app.state.settings = settings
        app.state.tables = ServedTables(fixed=Tables())
        app.state.pinot = pinot
        if responses:  # as the API's lifespan does with settings.api_response_cache
            app.state.responses = ResponseCache()
        # No dependency_overrides: with any override set, FastAPI rebuilds every dependency's signature
        # analysis on each request, which would multiply the figure being measured.
        driver = Driver(app)
        for _ in range(50):  # fill the query cache; the first answer also warms FastAPI's own caches
            status = await driver.get(route)
            if status != 200:
                raise SystemExit(f"{route}: HTTP {status}")
        per_round = []
        for _ in range(rounds):
            started = time.process_time()
            for _ in range(requests):
                await driver.get(route)
            per_round.append((time.process_time() - started) / requests * 1e6)
        text = None
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests):
                await driver.get(route)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            text = out.getvalue()
        pinot.close()
    return {
        "route": route,
        "cpu_us_per_request": round(statistics.median(per_round), 1),
        "rounds_us": [round(x, 1) for x in per_round],
        "profile": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--route", action="append", help="path and query (default: a set of routes)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile of one round computed from the query cache",
    )
    args = parser.parse_args()
    results = []
    for route in args.route or ROUTES:
        computed = asyncio.run(measure(route, args.requests, args.rounds, args.profile, responses=False))
        whole = asyncio.run(measure(route, args.requests, args.rounds, False, responses=True))
        print(
            f"{route}: computed from the query cache {computed['cpu_us_per_request']} µs of CPU, "
            f"answered whole from the response cache {whole['cpu_us_per_request']} µs "
            f"(rounds {computed['rounds_us']}, {whole['rounds_us']})"
        )
        if computed["profile"]:
            print(computed["profile"])
        results.append(
            {
                "route": route,
                "computed_us": computed["cpu_us_per_request"],
                "response_cache_us": whole["cpu_us_per_request"],
                "computed_rounds_us": computed["rounds_us"],
                "response_cache_rounds_us": whole["rounds_us"],
            }
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {"requests": args.requests, "rounds": args.rounds, "routes": results}
    (RESULTS / "api-cost.json").write_text(json.dumps(payload, indent=1))


if __name__ == "__main__":
    main()
