"""What the API exports to Prometheus at `/prometheus` (text exposition format, prometheus-client).

Two kinds of series, in one registry per app:

- the API's own, counted as requests are served: requests and latency per route template, Pinot
  queries and their time, cache lookups, live feeds and their clients;
- the pipeline's, read from the engines when Prometheus scrapes (`PipelineCollector`): consumer lag
  per partition and group, each Flink job's state, restarts and checkpoints, the rows Pinot holds
  (accepted, late, dead-lettered: counters whose rate is events per second), the age of each table's
  newest row, and freshness (the newest final minute against now). A source that does not answer
  sets its `rta_exporter_up{source=...}` to 0 and adds nothing else; the scrape never fails for it.

Metric names and what to alert on: docs/operations.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.common import closed_minute
from api.live import LiveFeeds
from core.datasets import DATASETS
from core.settings import Settings
from query import analytics
from query import topics as kafka_topics
from query.analytics import Tables
from query.pinot import Queryable
from query.serving import ServedTables, served
from query.sql import identifier

log = logging.getLogger("rta.api.metrics")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STREAMS = frozenset({"/metrics/stream"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SCRAPE_BUDGET_S = 8.0  # open for minutes: counted, but not in the latency histogram


class ApiMetrics:
    """The API's own series (a registry per app, so tests can build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rta_api_requests", "HTTP requests answered", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "rta_api_request_seconds",
            "Time to answer a request (streams excluded)",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pinot_queries = Counter("rta_pinot_queries", "Queries sent to Pinot", ["outcome"], registry=r)
        self.pinot_seconds = Histogram(
            "rta_pinot_query_seconds",
            "Time Pinot took to answer a query",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.cache = Counter("rta_api_cache_lookups", "Query cache lookups", ["result"], registry=r)
        self.response_cache = Counter(
            "rta_api_response_cache_lookups",
            "Response cache lookups (a miss computes the response; api/response_cache.py)",
            ["result"],
            registry=r,
        )
        self.live_feeds = Gauge("rta_api_live_feeds", "Live feeds running (one per filter set)", registry=r)
        self.live_clients = Gauge("rta_api_live_clients", "Clients connected to /metrics/stream", registry=r)

    def watch_live(self, feeds: LiveFeeds[Any, Any]) -> None:
        self.live_feeds.set_function(lambda: feeds.feeds)
        self.live_clients.set_function(lambda: feeds.subscribers)
        self.registry.register(_LiveSnapshots(feeds))

    def pinot_query(self, seconds: float, outcome: str) -> None:
        self.pinot_queries.labels(outcome).inc()
        self.pinot_seconds.observe(seconds)

    def cache_lookup(self, hit: bool) -> None:
        self.cache.labels("hit" if hit else "miss").inc()

    def response_cache_lookup(self, hit: bool) -> None:
        self.response_cache.labels("hit" if hit else "miss").inc()


class _LiveSnapshots(Collector):
    def __init__(self, feeds: LiveFeeds[Any, Any]) -> None:
        self.feeds = feeds

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "rta_api_live_snapshots",
            "Live snapshots computed (shared by every client of a feed)",
            value=self.feeds.computations,
        )


class RequestMetrics:
    """ASGI middleware: counts each response by its route template (`/metrics/products/{product_id}`,
    never the raw path: ids must not become labels) and times it."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            method = method if method in METHODS else "other"  # any token is a method: not a label
            self.metrics.requests.labels(template, method, str(status)).inc()
            if template not in STREAMS:
                self.metrics.latency.labels(template, method).observe(time.perf_counter() - started)


def _drain(read: Callable[[], Iterator[Metric]]) -> list[Metric]:
    return list(read())


class PipelineCollector(Collector):
    """The pipeline's health, read from Kafka, Flink and Pinot at each scrape."""

    def __init__(
        self,
        settings: Settings,
        pinot: Queryable,
        tables: Tables | ServedTables,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.pinot = pinot
        self._tables = tables
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        """Each source in a thread of its own, all within SCRAPE_BUDGET_S (under Prometheus's usual 10 s
        scrape timeout): a source that fails or is late is reported down, never the scrape."""
        up = GaugeMetricFamily("rta_exporter_up", "Whether a source answered this scrape", labels=["source"])
        sources: dict[str, Callable[[], Iterator[Metric]]] = {
            "kafka": self._kafka,
            "flink": self._flink,
            "pinot": self._pinot,
        }
        pool = ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="rta-scrape")
        futures = {name: pool.submit(_drain, read) for name, read in sources.items()}
        wait(futures.values(), timeout=SCRAPE_BUDGET_S)
        pool.shutdown(wait=False)  # a late source finishes (or times out) on its own; nobody waits
        for name, future in futures.items():
            if not future.done():
                log.warning("prometheus: %s did not answer within %.0f s", name, SCRAPE_BUDGET_S)
                up.add_metric([name], 0)
            elif (exc := future.exception()) is not None:
                log.warning("prometheus: %s did not answer: %s", name, exc)
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
                yield from future.result()
        yield up

    def _kafka(self) -> Iterator[Metric]:
        if not kafka_topics.reachable(self.settings):
            raise OSError(f"Kafka at {self.settings.kafka_bootstrap} is unreachable")
        lag = GaugeMetricFamily(
            "rta_kafka_consumer_lag",
            "Records behind the partition's end, by consumer group (committed offsets)",
            labels=["topic", "partition", "group"],
        )
        end = GaugeMetricFamily(
            "rta_kafka_end_offset", "The next offset to be written", labels=["topic", "partition"]
        )
        for p in kafka_topics.describe(self.settings):
            end.add_metric([p.topic, str(p.partition)], p.end)
            for group, behind in p.lag.items():
                lag.add_metric([p.topic, str(p.partition), group], behind)
        yield lag
        yield end

    def _flink(self) -> Iterator[Metric]:
        running = GaugeMetricFamily("rta_flink_job_running", "1 when the job is RUNNING", labels=["job"])
        restarts = CounterMetricFamily(
            "rta_flink_job_restarts", "Restarts of the job (numRestarts)", labels=["job"]
        )
        age = GaugeMetricFamily(
            "rta_flink_checkpoint_age_seconds",
            "Seconds since the newest completed checkpoint",
            labels=["job"],
        )
        duration = GaugeMetricFamily(
            "rta_flink_checkpoint_duration_seconds",
            "End-to-end time of the newest completed checkpoint",
            labels=["job"],
        )
        failed = CounterMetricFamily(
            "rta_flink_checkpoints_failed", "Checkpoints that failed", labels=["job"]
        )
        now = self.clock()
        with httpx.Client(base_url=self.settings.flink_rest_url, timeout=3.0) as flink:
            jobs = flink.get("/jobs/overview").raise_for_status().json()["jobs"]
            for job in jobs:
                if job["state"] in ("FINISHED", "CANCELED", "FAILED"):
                    continue  # the history of ended jobs is not the pipeline's health
                name, jid = job["name"], job["jid"]
                running.add_metric([name], 1 if job["state"] == "RUNNING" else 0)
                answer = flink.get(f"/jobs/{jid}/metrics", params={"get": "numRestarts"})
                metrics = answer.raise_for_status().json() or []
                for m in metrics:
                    if m.get("id") == "numRestarts":
                        restarts.add_metric([name], float(m["value"]))
                stats: dict[str, Any] = flink.get(f"/jobs/{jid}/checkpoints").raise_for_status().json()
                completed = (stats.get("latest") or {}).get("completed") or {}
                if completed.get("latest_ack_timestamp"):
                    age.add_metric([name], max(0.0, now - completed["latest_ack_timestamp"] / 1000))
                    duration.add_metric([name], completed.get("end_to_end_duration", 0) / 1000)
                failed.add_metric([name], float((stats.get("counts") or {}).get("failed", 0)))
        yield from (running, restarts, age, duration, failed)

    def _count(self, table: str, where: str = "") -> int:
        rows = self.pinot.rows(f"SELECT COUNT(*) AS n FROM {identifier(table)}{where}")
        return int(rows[0]["n"]) if rows else 0  # a table without assigned segments answers no row

    @property
    def tables(self) -> Tables:
        """The tables served now (a rebuild switches them)."""
        return served(self._tables)

    def _pinot(self) -> Iterator[Metric]:
        t = self.tables
        events = CounterMetricFamily(
            "rta_events", "Records the pipeline has served, by fate (rate(): per second)", labels=["fate"]
        )
        events.add_metric(["accepted"], self._count(t.events))
        events.add_metric(["late"], self._count(t.events, " WHERE is_late = true"))
        events.add_metric(["dead_lettered"], self._count(t.dead_letters))
        newest = GaugeMetricFamily(
            "rta_pinot_newest_row_age_seconds",
            "Seconds between now and the newest time in each table (its time column)",
            labels=["table"],
        )
        now = self.clock()
        for dataset in DATASETS:
            table = getattr(t, dataset.name)
            column = identifier(dataset.time_column)
            rows = self.pinot.rows(f"SELECT MAX({column}) AS t FROM {identifier(table)}")
            value = float(rows[0]["t"] or 0.0) if rows else 0.0  # no row, null or -Infinity: empty
            if value > 0 and value != float("inf"):
                newest.add_metric([table], max(0.0, now - value / 1000))
        yield events
        yield newest
        newest_ms = analytics.newest_event_time(self.pinot, t).rows
        closed = closed_minute(newest_ms, self.settings.watermark_delay_s)
        if closed is not None:
            yield GaugeMetricFamily(
                "rta_freshness_seconds",
                "Seconds between now and the end of the newest final minute (meta.as_of)",
                value=max(0.0, now - closed.timestamp()),
            )
