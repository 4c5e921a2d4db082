"""The dashboard against the running demo stack (`make demo`): page load time, the live update delay
(event sent -> number on the page) and what one more live client costs the API in CPU.

    .venv/bin/python -m bench.dashboard --loads 5 --samples 20 --clients 100

- load: `window.rta.readyMs`, navigation start -> every panel loaded, in headless Chromium;
- update delay: one event per sample, of a location no other event has, sent at the current time to
  the raw topic; the page is filtered on that location, so its live total moves only for the
  benchmark's events; the time until the number on the page changes (send included);
- client cost: a second API process on a free port (the demo's keeps serving the demo), its CPU time
  over `--seconds` with 1 live client, then with 1 + `--clients` (all with the same filters, so they
  share the feed), and with `--clients` clients each on its own filter set (each a feed of its own).

Writes bench/results/dashboard.json and prints a table.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import psutil
import typer
from rich.console import Console
from rich.table import Table

from bench.stats import percentile
from core.settings import Settings, get_settings
from core.topics import EVENTS
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, apply_faults
from event_generator.producer import make_producer, send
from stack.browser import chromium, wait_ready

RESULTS = Path(__file__).parent / "results"
console = Console()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def page_loads(api: str, loads: int, profile: Path) -> list[float]:
    out = []
    for i in range(loads):
        with chromium(profile / f"load-{i}") as driver:  # a cold browser each time: no cached assets
            driver.get(f"{api}/dashboard?range=1h&live=0")
            out.append(wait_ready(driver))
    return out


def _shown(driver: Any) -> float:
    value = driver.execute_script(
        "const e = document.querySelector('[data-testid=\"live-total-events\"]');"
        "return e ? e.dataset.value : ''"
    )
    return float(value or 0)


def update_delays(api: str, settings: Settings, samples: int, profile: Path) -> list[float]:
    marker = f"bench-{uuid.uuid4().hex[:8]}"
    stream = iter(EventStream(7, start=datetime.now(UTC), rate=1.0, users=10, products=10))
    producer = make_producer(settings)
    delays = []
    with chromium(profile / "live") as driver:
        driver.get(f"{api}/dashboard?range=15m&live=1&location={marker}")
        wait_ready(driver)
        deadline = time.monotonic() + 30
        while driver.execute_script("return window.rta.pushes") < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        for _ in range(samples):
            before = _shown(driver)
            event = next(stream).model_copy(update={"location": marker, "event_timestamp": datetime.now(UTC)})
            sent = time.monotonic()
            send(producer, EVENTS, apply_faults([event], FaultShares(), seed=0))  # flushes
            while _shown(driver) <= before:
                if time.monotonic() - sent > 120:
                    raise SystemExit("an event did not reach the page within 120 s")
                time.sleep(0.05)
            delays.append(time.monotonic() - sent)
    producer.close()
    return delays


def _listen(url: str, stop: threading.Event) -> None:
    timeout = httpx.Timeout(10.0, read=60.0)  # a push every few seconds, a ping every 15 s
    try:
        with httpx.Client(timeout=timeout) as client, client.stream("GET", url) as r:
            for _ in r.iter_lines():
                if stop.is_set():
                    return
    except httpx.HTTPError:
        if not stop.is_set():  # the server going away at the end is expected; before it, not
            raise


def api_cpu(port: int, clients: list[str], seconds: float) -> float:
    """CPU seconds per second of the API process at `port` while `clients` (stream URLs) listen."""
    stop = threading.Event()
    threads = [threading.Thread(target=_listen, args=(u, stop), daemon=True) for u in clients]
    for t in threads:
        t.start()
    time.sleep(5)  # every stream connected and its feed ticking
    proc = next(
        p for p in psutil.process_iter(["cmdline"]) if f"--port={port}" in " ".join(p.info["cmdline"] or [])
    )
    before = proc.cpu_times()
    time.sleep(seconds)
    after = proc.cpu_times()
    stop.set()
    return (after.user + after.system - before.user - before.system) / seconds


def main(
    loads: Annotated[int, typer.Option(min=1)] = 5,
    samples: Annotated[int, typer.Option(min=1)] = 20,
    clients: Annotated[int, typer.Option(min=1)] = 100,
    seconds: Annotated[float, typer.Option(min=5)] = 30,
) -> None:
    settings = get_settings()
    api = settings.api_url
    results: dict[str, Any] = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "api": api}
    with tempfile.TemporaryDirectory(prefix="rta-bench-browser-") as tmp:
        profile = Path(tmp)
        ready = page_loads(api, loads, profile)
        results["load_ms"] = {"p50": percentile(ready, 0.5), "max": max(ready), "runs": ready}
        delays = update_delays(api, settings, samples, profile)
        results["update_delay_s"] = {
            "p50": percentile(delays, 0.5),
            "p95": percentile(delays, 0.95),
            "runs": delays,
        }

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host=127.0.0.1",
            f"--port={port}",
            "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "RTA_API_LIVE_MAX_FEEDS": str(clients + 1)},  # every filter set gets a feed
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        stream = f"{base}/metrics/stream"
        one = api_cpu(port, [stream], seconds)
        shared = api_cpu(port, [stream] * (clients + 1), seconds)
        own = api_cpu(port, [f"{stream}?location=bench-{i}" for i in range(clients)], seconds)
    finally:
        server.terminate()
        server.wait(30)
    results["api_cpu_per_s"] = {
        "one_client": one,
        f"{clients + 1}_clients_one_feed": shared,
        f"{clients}_clients_own_feeds": own,
        "per_extra_client_same_feed_ms_per_s": (shared - one) / clients * 1000,
        "per_extra_feed_ms_per_s": (own - one) / max(clients - 1, 1) * 1000,
    }

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard.json").write_text(json.dumps(results, indent=2))
    table = Table(title="dashboard")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        "page load, p50 / max (ms)", f"{results['load_ms']['p50']:.0f} / {results['load_ms']['max']:.0f}"
    )
    d = results["update_delay_s"]
    table.add_row("event sent -> on the page, p50 / p95 (s)", f"{d['p50']:.2f} / {d['p95']:.2f}")
    c = results["api_cpu_per_s"]
    table.add_row("API CPU, 1 live client (% of a core)", f"{one * 100:.1f}")
    table.add_row(f"API CPU, {clients + 1} clients, one feed (%)", f"{shared * 100:.1f}")
    table.add_row(f"API CPU, {clients} clients, own feeds (%)", f"{own * 100:.1f}")
    table.add_row(
        "one more client, same filters (ms CPU/s)", f"{c['per_extra_client_same_feed_ms_per_s']:.2f}"
    )
    table.add_row("one more filter set (ms CPU/s)", f"{c['per_extra_feed_ms_per_s']:.2f}")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
