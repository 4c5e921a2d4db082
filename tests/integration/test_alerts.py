"""Alerts end to end on the real stack: each condition caused for real (traffic stops, malformed
events, a purchase-free window, the job stopped), each change received by a webhook receiver on
127.0.0.1, and the time from the condition's start to the post measured (printed, and kept as junit
properties `latency_<rule>_s`).

Each test runs its own pipeline (fresh topics, tables and job) and its own evaluator over them, with
`alert_interval_s` = 1 s and small thresholds, so no rule sees another test's traffic.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.alerting import AlertEvaluator
from api.alerting.rules import RULES
from api.main import create_app
from api.routers.alerts import get_alerts
from api.schemas import AlertRule
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults
from flink_jobs.runner import FlinkRest
from query.analytics import Tables
from query.pinot import Pinot
from tests.support.builders import api_server
from tests.support.e2e import CRAFTED_REJECTS, RunningPipeline, running_pipeline, send_all
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration

NO_EVENTS_S = 20
FRESHNESS_S = 75  # on steady traffic the newest final minute is 5 (watermark) to 65 s old


@dataclass
class Received:
    at: float  # epoch seconds when the POST arrived
    body: dict[str, Any]


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1:<free port>; answers 500 to the first `refuse` posts."""

    refuse: int = 0
    got: list[Received] = field(default_factory=list)
    refused: int = 0

    @contextmanager
    def running(self) -> Iterator[str]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if receiver.refused < receiver.refuse:
                    receiver.refused += 1
                    self.send_response(500)
                else:
                    receiver.got.append(Received(time.time(), body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/hook"
        finally:
            server.shutdown()

    def wait_for(self, rule: str, status: str, timeout_s: float, after: float = 0.0) -> Received:
        """The first post of `rule` in `status` received after `after` (epoch seconds)."""

        def find() -> Received | None:
            return next(
                (
                    r
                    for r in self.got
                    if (r.body["rule"], r.body["status"]) == (rule, status) and r.at > after
                ),
                None,
            )

        found = poll_until(
            find, lambda r: r is not None, timeout_s=timeout_s, what=f"{rule} {status} posted", interval_s=0.1
        )
        assert found is not None
        return found


@dataclass(frozen=True)
class Watched:
    settings: Settings
    pipeline: RunningPipeline
    evaluator: AlertEvaluator
    receiver: Receiver


@contextmanager
def watched_pipeline(
    settings: Settings, prefix: str, run_dir: Path, rules: set[str], refuse: int = 0
) -> Iterator[Watched]:
    """A pipeline of its own, and an evaluator (every 1 s) of `rules` posting to a local receiver."""
    receiver = Receiver(refuse=refuse)
    with receiver.running() as url, running_pipeline(settings, prefix) as pipeline, Pinot(settings) as pinot:
        alert_settings = settings.model_copy(
            update={
                "run_dir": run_dir,
                "alert_interval_s": 1.0,
                "alert_window_s": 60,
                "alert_no_events_s": NO_EVENTS_S,
                "alert_dead_letter_share_pct": 10.0,
                "alert_conversion_drop_pct": 50.0,
                "alert_conversion_min_views": 20,
                "alert_freshness_s": FRESHNESS_S,
                "alert_job_restarts": 1,
                "alert_webhook_url": url,
                "alert_webhook_max_backoff_s": 0.5,
            }
        )
        evaluator = AlertEvaluator(
            alert_settings,
            pinot,
            Tables(**pipeline.tables),
            job_name=pipeline.job_name,
            rules=[r for r in RULES if r.name in rules],
        )
        evaluator.start()
        try:
            yield Watched(alert_settings, pipeline, evaluator, receiver)
        finally:
            evaluator.stop()


def events(start: datetime, seconds: float, rate: float, seed: int, purchases: bool = True) -> list[Outgoing]:
    """Valid generator events from `start` for `seconds` (record time = event time); without any
    purchase if `purchases` is False."""
    stream = EventStream(seed, start=start, rate=rate, users=200, products=40)
    out = list(apply_faults(islice(stream, int(seconds * rate)), FaultShares(), seed=seed))
    return out if purchases else [o for o in out if b'"purchase"' not in o.value]


def _latency(record_property: Any, rule: str, started: float, received: Received) -> float:
    latency = received.at - started
    record_property(f"latency_{rule}_s", round(latency, 1))
    print(f"\n{rule}: condition start -> webhook received {latency:.1f} s ({received.body['summary']})")
    return latency


def test_dead_letters_above_their_share_post_an_alert_with_retries(
    settings: Settings, tmp_path: Path, record_property: Any
) -> None:
    # The receiver refuses the first two posts: the change still arrives, once per status.
    with watched_pipeline(settings, "alert_dlq", tmp_path, {"dead_letter_share"}, refuse=2) as w:
        good = events(datetime.now(UTC) - timedelta(seconds=4), 4, 25.0, seed=5)  # 100 events
        bad = [
            Outgoing(b"crafted", CRAFTED_REJECTS[i % len(CRAFTED_REJECTS)], Fault.MALFORMED)
            for i in range(50)
        ]
        send_all(settings, w.pipeline.topics.raw_events, [*good, *bad], rate=1000)
        started = time.time()  # the condition holds from the moment Kafka has the records
        fired = w.receiver.wait_for("dead_letter_share", "firing", timeout_s=60)
        _latency(record_property, "dead_letter_share", started, fired)
        assert w.receiver.refused == 2  # (the only rule on: both refusals were of this change)
        assert fired.body["value"] > 10.0
        assert fired.body["threshold"] == 10.0
        assert fired.body["dedup_key"].startswith("dead_letter_share:")
        # Once both tables hold every record, the firing alert's value is the exact share: 50 of 150.
        poll_until(
            lambda: [a.value for a in w.evaluator.snapshot("firing").data],
            lambda values: values == [pytest.approx(100 * 50 / 150, abs=0.01)],
            timeout_s=60,
            what="the firing alert's value at 50 dead letters of 150 records",
        )
        keys = [
            (r.body["dedup_key"], r.body["status"])
            for r in w.receiver.got
            if r.body["rule"] == "dead_letter_share"
        ]
        assert keys == [(fired.body["dedup_key"], "firing")]  # posted once, though refused twice


def test_a_purchase_free_window_posts_a_conversion_drop(
    settings: Settings, tmp_path: Path, record_property: Any
) -> None:
    with watched_pipeline(settings, "alert_conv", tmp_path, {"conversion_drop"}) as w:
        # Minute-aligned windows ending at as_of = T: [T-2m, T-1m) with purchases, [T-1m, T) with none;
        # one event at T+10 s moves the newest final minute (as_of) to T.
        t = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        baseline = events(t - timedelta(minutes=2), 60, 10.0, seed=7)
        quiet = events(t - timedelta(minutes=1), 60, 10.0, seed=8, purchases=False)
        anchor = events(t + timedelta(seconds=10), 0.1, 10.0, seed=9, purchases=False)
        assert sum(b'"purchase"' in o.value for o in baseline) > 0
        send_all(settings, w.pipeline.topics.raw_events, [*baseline, *quiet, *anchor], rate=2000)
        started = time.time()
        fired = w.receiver.wait_for("conversion_drop", "firing", timeout_s=90)
        _latency(record_property, "conversion_drop", started, fired)
        assert fired.body["value"] == pytest.approx(100.0)  # no purchase at all: conversion fell by 100 %
        assert f"{t:%H:%M} UTC" in fired.body["summary"]


def test_traffic_stopping_posts_no_events_and_freshness_and_resolves_when_it_resumes(
    settings: Settings, tmp_path: Path, record_property: Any
) -> None:
    with (
        watched_pipeline(settings, "alert_quiet", tmp_path, {"no_events", "freshness"}) as w,
        api_server(_app_over(settings, w.evaluator)) as api,
    ):
        sent = events(datetime.now(UTC), 5, 20.0, seed=11)
        send_all(settings, w.pipeline.topics.raw_events, sent, rate=20.0)
        # The newest arrival time: the last record's Kafka timestamp (its event time, sent on time).
        last_arrival = max(o.timestamp_ms or 0 for o in sent) / 1000
        # (A new pipeline has no events yet: no_events fires at once, and resolves once they are in.)
        poll_until(
            lambda: _rule(w.evaluator, "no_events"),
            lambda r: r.state == "ok",
            timeout_s=60,
            what="no_events evaluated ok once the events are in Pinot",
        )
        fired = w.receiver.wait_for("no_events", "firing", timeout_s=NO_EVENTS_S + 60, after=last_arrival)
        _latency(record_property, "no_events", last_arrival + NO_EVENTS_S, fired)

        as_of = poll_until(w.evaluator.reads.as_of, lambda a: a is not None, timeout_s=60, what="as_of")
        assert as_of is not None
        stale = w.receiver.wait_for("freshness", "firing", timeout_s=FRESHNESS_S + 120)
        _latency(record_property, "freshness", as_of.timestamp() + FRESHNESS_S, stale)

        body = httpx.get(f"{api}/alerts", params={"status": "firing"}, timeout=10).json()
        assert {a["rule"] for a in body["data"]} >= {"no_events", "freshness"}, body

        resumed = time.time()
        send_all(
            settings, w.pipeline.topics.raw_events, events(datetime.now(UTC), 5, 20.0, seed=12), rate=50.0
        )
        resolved = w.receiver.wait_for("no_events", "resolved", timeout_s=60, after=resumed)
        assert resolved.body["dedup_key"] == fired.body["dedup_key"]
        print(f"no_events: traffic again -> resolved {resolved.at - resumed:.1f} s")
        fresh = w.receiver.wait_for("freshness", "resolved", timeout_s=60, after=resumed)
        assert fresh.body["dedup_key"] == stale.body["dedup_key"]

        listed = httpx.get(f"{api}/alerts", params={"status": "resolved"}, timeout=10).json()["data"]
        assert {(a["rule"], a["dedup_key"]) for a in listed} >= {
            ("no_events", fired.body["dedup_key"]),
            ("freshness", stale.body["dedup_key"]),
        }
        assert httpx.get(f"{api}/alerts", params={"status": "open"}, timeout=10).status_code == 422


def test_the_job_stopping_posts_job_restarting(
    settings: Settings, tmp_path: Path, record_property: Any
) -> None:
    with (
        watched_pipeline(settings, "alert_job", tmp_path, {"job_restarting"}) as w,
        FlinkRest(settings) as rest,
    ):
        poll_until(
            lambda: w.evaluator.snapshot().rules,
            lambda rules: any(r.rule == "job_restarting" and r.state == "ok" for r in rules),
            timeout_s=30,
            what="job_restarting evaluated as ok while the job runs",
        )
        rest.cancel(w.pipeline.job_id)
        started = time.time()
        fired = w.receiver.wait_for("job_restarting", "firing", timeout_s=30, after=started)
        _latency(record_property, "job_restarting", started, fired)
        assert "CANCELED" in fired.body["summary"] or "CANCELLING" in fired.body["summary"]


def _rule(evaluator: AlertEvaluator, name: str) -> AlertRule:
    return next(r for r in evaluator.snapshot().rules if r.rule == name)


def _app_over(settings: Settings, evaluator: AlertEvaluator) -> Any:
    """The API with GET /alerts answered by `evaluator` (its own evaluator, over the product, off)."""
    app = create_app(settings.model_copy(update={"alert_interval_s": 0}))
    app.dependency_overrides[get_alerts] = lambda: evaluator
    return app
