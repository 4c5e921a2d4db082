"""Alerts without engines: each rule over a fake Pinot that answers the rules' queries from in-memory
records, a fake Flink REST API (httpx.MockTransport), and a real HTTP receiver on 127.0.0.1 for the
webhook. Every evaluation is given its `now`, so each threshold is checked at its exact edge."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.alerting import RULES, AlertEvaluator
from api.buckets import to_ms
from api.main import create_app
from api.routers.alerts import get_alerts
from core.datasets import JOB_NAME
from core.settings import Settings
from query.analytics import Tables
from query.pinot import PinotUnavailable
from query.sql import Value, bind
from tests.support.fake_pinot import time_bounds
from tests.support.polling import poll_until

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
SETTING = {rule.name: rule.setting for rule in RULES}


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def ms(seconds: float) -> int:
    return to_ms(at(seconds))


@dataclass
class Shop:
    """Pinot for the rules: arrivals (accepted, dead-lettered) and events (type, session, event time), all
    at offsets in seconds from NOW; answers the shapes query/analytics.py sends, computed from them."""

    accepted: list[float] = field(default_factory=list)
    dead: list[float] = field(default_factory=list)
    events: list[tuple[str, str, float]] = field(default_factory=list)
    newest_s: float | None = None  # the newest event time queryable
    down: bool = False
    sent: list[str] = field(default_factory=list)

    def rows(self, sql: str, params: dict[str, Value] | None = None) -> list[dict[str, Any]]:
        bound = bind(sql, params or {})
        self.sent.append(bound)
        if self.down:
            raise PinotUnavailable("the Pinot broker is unreachable", "ConnectError: refused")
        if bound.startswith("SELECT MAX(event_timestamp)"):
            return [{"t": -math.inf if self.newest_s is None else float(ms(self.newest_s))}]
        for column, label, times in (
            ("ingest_time", "accepted", self.accepted),
            ("source_timestamp", "dead_lettered", self.dead),
        ):
            if f"AS {label}" in bound:
                a, b = time_bounds(bound, column)
                n = sum(a <= ms(t) < b for t in times)
                extra = {"late": 0} if label == "accepted" else {}
                return [{"bucket": float(a), label: n, **extra}] if n else []  # GROUP BY: no row for 0
        step = re.search(r"event_type = '(\w+)'", bound)
        assert step, bound
        assert "DISTINCTCOUNT(session_id) AS sessions" in bound, bound
        a, b = time_bounds(bound, "event_timestamp")
        hits = [s for kind, s, t in self.events if kind == step.group(1) and a <= ms(t) < b]
        return [{"events": len(hits), "sessions": len(set(hits))}]

    def sessions(self, start_s: float, views: int, buyers: int) -> None:
        """`views` sessions that each view a product at start_s, the first `buyers` of them also buy."""
        for i in range(views):
            sid = f"s{start_s}-{i}"
            self.events.append(("product_view", sid, start_s))
            if i < buyers:
                self.events.append(("purchase", sid, start_s + 1))


@dataclass
class Flink:
    """Flink's REST API as the job rule reads it: /jobs/overview and each job's numRestarts."""

    jobs: list[dict[str, Any]] = field(
        default_factory=lambda: [{"jid": "j1", "name": JOB_NAME, "state": "RUNNING", "start-time": 1}]
    )
    restarts: dict[str, int] = field(default_factory=lambda: {"j1": 0})
    down: bool = False
    calls: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if request.url.path == "/jobs/overview":
            return httpx.Response(200, json={"jobs": self.jobs})
        jid = request.url.path.split("/")[2]
        if jid in self.restarts:
            return httpx.Response(200, json=[{"id": "numRestarts", "value": str(self.restarts[jid])}])
        return httpx.Response(404, json={"errors": ["Job not found."]})

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle), base_url="http://flink")

    def set(self, state: str, restarts: int) -> None:
        self.jobs[0]["state"], self.restarts["j1"] = state, restarts


class Receiver:
    """A webhook receiver on 127.0.0.1 (a free port): keeps each POSTed JSON body and answers the
    scripted statuses in turn, then `then`."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.then = 200
        self.posts: list[dict[str, Any]] = []  # every attempt, as received
        self.answered: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.script.pop(0) if receiver.script else receiver.then
                receiver.posts.append(body)
                receiver.answered.append(status)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> list[tuple[str, str]]:
        """(dedup_key, status) of each attempt that was answered 2xx."""
        return [
            (p["dedup_key"], p["status"])
            for p, s in zip(self.posts, self.answered, strict=True)
            if 200 <= s < 300
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def only(rule: str) -> dict[str, Any]:
    """Settings that turn every other rule off (threshold 0)."""
    return {setting: 0 for name, setting in SETTING.items() if name != rule}


def evaluator(
    run_dir: Path,
    shop: Shop,
    flink: Flink | None = None,
    receiver: Receiver | None = None,
    **settings: Any,
) -> AlertEvaluator:
    s = Settings(
        port_offset=31000,
        run_dir=run_dir,
        alert_webhook_url=receiver.url if receiver else None,
        alert_webhook_max_backoff_s=0.1,
        **settings,
    )
    return AlertEvaluator(s, shop, Tables(), flink=(flink or Flink()).client(), clock=lambda: NOW)


def drain(ev: AlertEvaluator) -> int:
    """Deliver the outbox now (the test's thread); how many changes the receiver acknowledged."""
    assert ev.webhook is not None
    return ev.webhook.drain()


def rule(ev: AlertEvaluator, name: str) -> tuple[str, float | None]:
    status = ev.status[name]
    return status.state, status.value


# --- each rule: fires past its threshold, resolves, one post per change --------------------------------


def test_no_events_fires_after_the_quiet_time_and_resolves_when_events_arrive(
    tmp_path: Path, receiver: Receiver
) -> None:
    shop = Shop(accepted=[-200.0])
    ev = evaluator(tmp_path, shop, receiver=receiver, **only("no_events"), alert_no_events_s=300)
    assert ev.evaluate(at(0)) == []
    assert rule(ev, "no_events") == ("ok", 1)
    assert ev.evaluate(at(100)) == []  # the event arrived exactly 300 s ago: still inside
    [fired] = ev.evaluate(at(101))
    assert (fired.rule, fired.status, fired.value, fired.threshold) == ("no_events", "firing", 0, 300)
    assert fired.dedup_key == f"no_events:{ms(101)}"
    assert fired.started_at == at(101)
    assert fired.summary == "no event accepted in the last 300 s"
    assert ev.evaluate(at(115)) == []  # still firing: nothing new to post
    shop.accepted.append(120.0)
    [resolved] = ev.evaluate(at(130))
    assert (resolved.status, resolved.dedup_key, resolved.value) == ("resolved", fired.dedup_key, 1)
    assert (resolved.started_at, resolved.resolved_at) == (at(101), at(130))

    assert drain(ev) == 2
    assert receiver.delivered() == [(fired.dedup_key, "firing"), (fired.dedup_key, "resolved")]
    first, second = receiver.posts
    assert (first["value"], first["resolved_at"]) == (0, None)
    assert first["started_at"] == "2026-11-21T12:01:41Z"
    assert second["resolved_at"] == "2026-11-21T12:02:10Z"
    assert second["summary"] == "events accepted in the last 300 s: 1"
    assert first["sent_at"] == "2026-11-21T12:00:00Z"  # the evaluator's clock
    assert drain(ev) == 0  # each change is posted once


def test_dead_letter_share_fires_above_its_percentage(tmp_path: Path, receiver: Receiver) -> None:
    shop = Shop(accepted=[-10.0] * 95, dead=[-10.0] * 5)
    ev = evaluator(
        tmp_path, shop, receiver=receiver, **only("dead_letter_share"), alert_dead_letter_share_pct=5.0
    )
    assert ev.evaluate(at(0)) == []
    assert rule(ev, "dead_letter_share") == ("ok", 5.0)  # at the threshold: not above it
    shop.accepted.pop()
    shop.dead.append(-5.0)  # 94 accepted, 6 dead letters
    [fired] = ev.evaluate(at(1))
    assert (fired.status, fired.value, fired.threshold) == ("firing", 6.0, 5.0)
    assert fired.summary == "6.0% of the 100 records that arrived in the last 300 s were dead-lettered (6)"
    assert ev.evaluate(at(400)) == []  # nothing arrived in the window: no verdict, still firing
    assert rule(ev, "dead_letter_share") == ("no_data", None)
    assert [a.status for a in ev.snapshot().data] == ["firing"]
    shop.accepted += [395.0] * 99
    shop.dead.append(395.0)
    [resolved] = ev.evaluate(at(401))
    assert (resolved.status, resolved.value, resolved.dedup_key) == ("resolved", 1.0, fired.dedup_key)
    assert drain(ev) == 2
    assert receiver.delivered() == [(fired.dedup_key, "firing"), (fired.dedup_key, "resolved")]
    assert [p["value"] for p in receiver.posts] == [6.0, 1.0]


def test_conversion_drop_compares_with_the_window_before(tmp_path: Path, receiver: Receiver) -> None:
    # as_of = NOW (newest event 5 s past it, the watermark delay): windows [-600, -300) and [-300, 0).
    shop = Shop(newest_s=5.0)
    shop.sessions(-500, views=200, buyers=60)  # 30 %
    shop.sessions(-200, views=200, buyers=20)  # 10 %: two thirds lower
    ev = evaluator(
        tmp_path, shop, receiver=receiver, **only("conversion_drop"), alert_conversion_drop_pct=50.0
    )
    [fired] = ev.evaluate(at(30))
    assert (fired.status, fired.value, fired.threshold) == ("firing", 66.667, 50.0)
    assert fired.summary == (
        "view -> purchase conversion 10.0% in the 300 s to 12:00 UTC, against 30.0% in the 300 s before "
        "(-66.7%)"
    )
    shop.sessions(-100, views=200, buyers=100)  # now 120 of 400 = 30 %: no drop
    [resolved] = ev.evaluate(at(45))
    assert (resolved.status, resolved.value) == ("resolved", 0.0)
    assert drain(ev) == 2
    assert receiver.delivered() == [(fired.dedup_key, "firing"), (fired.dedup_key, "resolved")]


def test_conversion_is_not_judged_on_too_few_views_before(tmp_path: Path) -> None:
    shop = Shop(newest_s=5.0)
    shop.sessions(-500, views=99, buyers=60)
    shop.sessions(-200, views=200, buyers=0)  # conversion 0: would be a 100 % drop
    ev = evaluator(tmp_path, shop, **only("conversion_drop"), alert_conversion_min_views=100)
    assert ev.evaluate(at(30)) == []
    assert rule(ev, "conversion_drop") == ("no_data", None)
    assert ev.status["conversion_drop"].detail == "99 product views in the previous window (judged from 100)"
    shop.sessions(-450, views=1, buyers=0)  # 100 views now
    [fired] = ev.evaluate(at(31))
    assert fired.value == 100.0


def test_freshness_fires_when_the_newest_final_minute_is_too_old(tmp_path: Path, receiver: Receiver) -> None:
    shop = Shop(newest_s=5.0)  # as_of = NOW
    ev = evaluator(tmp_path, shop, receiver=receiver, **only("freshness"), alert_freshness_s=180)
    assert ev.evaluate(at(180)) == []
    assert rule(ev, "freshness") == ("ok", 180.0)
    [fired] = ev.evaluate(at(181))
    assert (fired.value, fired.summary) == (181.0, "the newest final minute ended 181 s ago (12:00 UTC)")
    shop.newest_s = 185.0  # as_of = 12:03
    [resolved] = ev.evaluate(at(190))
    assert (resolved.status, resolved.value) == ("resolved", 10.0)
    assert drain(ev) == 2
    assert receiver.delivered() == [(fired.dedup_key, "firing"), (fired.dedup_key, "resolved")]


def test_job_restarting_fires_while_not_running_and_for_a_window_after_a_restart(
    tmp_path: Path, receiver: Receiver
) -> None:
    flink = Flink()
    ev = evaluator(tmp_path, Shop(), flink, receiver=receiver, **only("job_restarting"), alert_window_s=300)
    assert ev.evaluate(at(0)) == []
    assert rule(ev, "job_restarting") == ("ok", 0)
    flink.set("RESTARTING", 1)
    [fired] = ev.evaluate(at(15))
    assert (fired.value, fired.threshold) == (1, 1)
    assert fired.summary == f"job {JOB_NAME} is RESTARTING; restarts in the last 300 s: 1"
    flink.set("RUNNING", 1)
    assert ev.evaluate(at(30)) == []
    assert ev.evaluate(at(314)) == []  # the restart was seen at 15 s: inside the window until 315 s
    assert rule(ev, "job_restarting") == ("firing", 1)
    [resolved] = ev.evaluate(at(315))
    assert (resolved.status, resolved.value) == ("resolved", 0)
    assert resolved.summary == f"job {JOB_NAME} is RUNNING; restarts in the last 300 s: 0"
    assert drain(ev) == 2
    assert receiver.delivered() == [(fired.dedup_key, "firing"), (fired.dedup_key, "resolved")]


def test_a_job_submitted_again_counts_as_a_restart_and_no_job_fires(tmp_path: Path) -> None:
    flink = Flink()
    ev = evaluator(tmp_path, Shop(), flink, **only("job_restarting"), alert_job_restarts=2)
    ev.evaluate(at(0))
    flink.jobs = [
        {"jid": "j1", "name": JOB_NAME, "state": "CANCELED", "start-time": 1},
        {"jid": "j2", "name": JOB_NAME, "state": "RUNNING", "start-time": 2},
        {"jid": "x", "name": "another-job", "state": "RESTARTING", "start-time": 3},
    ]
    flink.restarts = {"j2": 0}
    assert ev.evaluate(at(10)) == []
    assert rule(ev, "job_restarting") == ("ok", 1)  # one (the new submission), under the threshold 2
    flink.restarts = {"j2": 1}
    [fired] = ev.evaluate(at(20))
    assert fired.value == 2
    flink.jobs = []
    assert ev.evaluate(at(400)) == []  # still firing, now for another reason
    assert (
        ev.status["job_restarting"].detail
        == f"job {JOB_NAME} is not submitted; restarts in the last 300 s: 0"
    )


def test_the_same_job_resumed_by_a_new_jobmanager_counts_as_a_restart(tmp_path: Path) -> None:
    # Flink HA: a restarted JobManager resumes the job under its id, and numRestarts starts again at 0.
    flink = Flink()
    flink.set("RUNNING", 3)
    ev = evaluator(
        tmp_path, Shop(), flink, **only("job_restarting"), alert_window_s=300, alert_job_restarts=1
    )
    assert ev.evaluate(at(0)) == []
    assert rule(ev, "job_restarting") == ("ok", 0)
    flink.set("RUNNING", 0)
    [fired] = ev.evaluate(at(15))
    assert fired.value == 1


# --- sources that do not answer, rules that are off --------------------------------------------------------


def test_a_source_that_does_not_answer_keeps_every_alert_as_it_was(
    tmp_path: Path, receiver: Receiver
) -> None:
    shop, flink = Shop(accepted=[-10.0], newest_s=395.0), Flink()  # as_of 12:06: fresh at 400 s
    ev = evaluator(tmp_path, shop, flink, receiver=receiver)
    flink.set("FAILING", 3)
    fired = ev.evaluate(at(400))  # no event for 410 s; job failing
    assert [(a.rule, a.status) for a in fired] == [("no_events", "firing"), ("job_restarting", "firing")]
    shop.down = flink.down = True
    for t in (415, 430, 445):
        assert ev.evaluate(at(t)) == []
    snapshot = ev.snapshot()
    assert [(a.rule, a.dedup_key) for a in snapshot.data] == [(a.rule, a.dedup_key) for a in fired]
    by_rule = {r.rule: r for r in snapshot.rules}
    assert {r.state for r in snapshot.rules} == {"error"}
    assert by_rule["freshness"].detail == "Pinot did not answer: the Pinot broker is unreachable"
    assert by_rule["job_restarting"].detail == (
        "Flink's REST API did not answer (ConnectError; details in the API log)"
    )
    assert snapshot.evaluated_at == at(445)
    shop.down = flink.down = False
    assert ev.evaluate(at(460)) == []  # back, and still firing: no new post, same keys
    assert drain(ev) == 2
    assert [status for _, status in receiver.delivered()] == ["firing", "firing"]


def test_a_rule_that_is_off_reads_nothing_and_its_alert_resolves(tmp_path: Path, receiver: Receiver) -> None:
    shop, flink = Shop(), Flink()
    [fired] = evaluator(tmp_path, shop, flink, **only("no_events")).evaluate(at(0))
    shop.sent.clear()
    ev = evaluator(tmp_path, shop, flink, receiver=receiver, **only("freshness"), alert_freshness_s=0)
    assert {r.state for r in ev.snapshot().rules} == {"off"}
    calls = flink.calls
    [resolved] = ev.evaluate(at(10))
    assert (resolved.dedup_key, resolved.status) == (fired.dedup_key, "resolved")
    assert resolved.summary == "the rule was turned off (its threshold is 0)"
    assert (shop.sent, flink.calls) == ([], calls)


# --- the webhook: retries, restarts ---------------------------------------------------------------------


def test_a_receiver_that_fails_twice_still_gets_the_change_once_acknowledged(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.script = [500, 503]
    ev = evaluator(tmp_path, Shop(), receiver=receiver, **only("no_events"))
    [fired] = ev.evaluate(at(0))
    started = time.monotonic()
    assert drain(ev) == 1
    assert time.monotonic() - started >= 0.2  # two waits of max_backoff (0.1 s)
    assert receiver.answered == [500, 503, 200]
    assert [(p["dedup_key"], p["status"]) for p in receiver.posts] == [(fired.dedup_key, "firing")] * 3
    assert receiver.delivered() == [(fired.dedup_key, "firing")]
    webhook = ev.snapshot().webhook
    assert (webhook.configured, webhook.pending, webhook.delivered, webhook.last_error) == (True, 0, 1, None)


def test_undelivered_changes_and_firing_alerts_survive_a_restart(tmp_path: Path, receiver: Receiver) -> None:
    receiver.then = 503
    shop = Shop()
    first = evaluator(tmp_path, shop, receiver=receiver, **only("no_events"), alert_interval_s=0)
    first.start()  # the delivery thread only (interval 0: no evaluation loop)
    [fired] = first.evaluate(at(0))
    poll_until(
        lambda: len(receiver.answered), lambda n: n >= 2, timeout_s=10, what="two refusals", interval_s=0.02
    )
    assert receiver.answered[:2] == [503, 503]
    assert first.snapshot().webhook.last_error == "the webhook answered HTTP 503"
    stopping = time.monotonic()
    first.stop()  # while it waits to retry
    assert time.monotonic() - stopping < 3  # a retry that would never succeed does not hold it
    assert first.snapshot().webhook.pending == 1

    receiver.then = 200
    second = evaluator(tmp_path, shop, receiver=receiver, **only("no_events"))
    listed = second.snapshot()
    assert [(a.dedup_key, a.status) for a in listed.data] == [(fired.dedup_key, "firing")]
    assert listed.webhook.pending == 1
    assert second.evaluate(at(60)) == []  # still no events: the same alert, not a new one
    assert drain(second) == 1
    assert receiver.delivered() == [(fired.dedup_key, "firing")]
    shop.accepted.append(100.0)
    [resolved] = second.evaluate(at(120))
    assert drain(second) == 1

    third = evaluator(tmp_path, shop, receiver=receiver, **only("no_events"))
    assert [(a.dedup_key, a.status, a.resolved_at) for a in third.snapshot().data] == [
        (fired.dedup_key, "resolved", at(120))
    ]
    assert third.snapshot().webhook.pending == 0
    assert receiver.delivered() == [(fired.dedup_key, "firing"), (resolved.dedup_key, "resolved")]


def test_restarts_seen_before_a_restart_of_the_api_still_count(tmp_path: Path) -> None:
    flink = Flink()
    first = evaluator(tmp_path, Shop(), flink, **only("job_restarting"))
    first.evaluate(at(0))
    flink.set("RUNNING", 1)
    [fired] = first.evaluate(at(15))
    second = evaluator(tmp_path, Shop(), flink, **only("job_restarting"))
    assert second.evaluate(at(60)) == []
    assert rule(second, "job_restarting") == ("firing", 1)
    [resolved] = second.evaluate(at(315))
    assert resolved.dedup_key == fired.dedup_key


def test_an_unreadable_state_file_is_set_aside(tmp_path: Path) -> None:
    state = tmp_path / "alerts" / "state.json"
    state.parent.mkdir()
    state.write_text("{not json")
    ev = evaluator(tmp_path, Shop(), **only("no_events"))
    assert ev.snapshot().data == []
    assert [p.name.split("-")[0] for p in state.parent.iterdir()] == ["state.json.unreadable"]
    ev.evaluate(at(0))
    assert json.loads(state.read_text())["firing"][0]["rule"] == "no_events"


def test_the_loop_evaluates_and_posts_on_its_own(tmp_path: Path, receiver: Receiver) -> None:
    s = Settings(
        port_offset=31000,
        run_dir=tmp_path,
        alert_interval_s=0.1,
        alert_webhook_url=receiver.url,
        **only("no_events"),
    )
    ev = AlertEvaluator(s, Shop(), Tables(), flink=Flink().client())
    started = time.monotonic()
    ev.start()
    try:
        poll_until(receiver.delivered, bool, timeout_s=10, what="the first post", interval_s=0.02)
        assert time.monotonic() - started < 5  # evaluated at start, posted at once (not after 15 s)
        [(key, status)] = receiver.delivered()
        assert (key.split(":")[0], status) == ("no_events", "firing")
        evaluated = ev.snapshot().evaluated_at
        poll_until(  # evaluated again
            lambda: ev.snapshot().evaluated_at,
            lambda at: at != evaluated,
            timeout_s=5,
            what="a second evaluation",
            interval_s=0.02,
        )
    finally:
        ev.stop()
    samples = {s.labels["rule"]: s.value for family in ev.collector.collect() for s in family.samples}
    assert samples == {r.name: 1.0 if r.name == "no_events" else 0.0 for r in RULES}


# --- GET /alerts ------------------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Shop, Flink, AlertEvaluator]]:
    app = create_app(Settings(port_offset=31000, run_dir=tmp_path / "app", alert_interval_s=0))
    shop, flink = Shop(accepted=[-10.0], newest_s=5.0), Flink()
    ev = evaluator(tmp_path / "alerts", shop, flink)
    app.dependency_overrides[get_alerts] = lambda: ev
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c, shop, flink, ev


def test_alerts_lists_firing_then_resolved_newest_first(
    client: tuple[TestClient, Shop, Flink, AlertEvaluator],
) -> None:
    c, shop, flink, ev = client
    ev.evaluate(at(200))  # freshness fires (200 s behind)
    shop.accepted.append(300.0)
    ev.evaluate(at(650))  # no event since 300 s: no_events fires
    flink.set("RESTARTING", 1)
    ev.evaluate(at(700))  # the job fires
    shop.newest_s = 705.0
    ev.evaluate(at(710))  # as_of 12:11: freshness resolves
    body = c.get("/alerts").json()
    assert set(body) == {"evaluated_at", "interval_s", "rules", "webhook", "data"}
    assert body["evaluated_at"] == "2026-11-21T12:11:50Z"
    assert body["webhook"] == {"configured": False, "pending": 0, "delivered": 0, "last_error": None}
    assert [(a["rule"], a["status"]) for a in body["data"]] == [
        ("job_restarting", "firing"),
        ("no_events", "firing"),
        ("freshness", "resolved"),
    ]
    assert [a["dedup_key"] for a in body["data"]] == [
        f"job_restarting:{ms(700)}",
        f"no_events:{ms(650)}",
        f"freshness:{ms(200)}",
    ]
    freshness = body["data"][2]
    assert (freshness["started_at"], freshness["resolved_at"]) == (
        "2026-11-21T12:03:20Z",
        "2026-11-21T12:11:50Z",
    )
    assert (freshness["value"], freshness["threshold"]) == (50.0, 180.0)
    rules = {r["rule"]: r for r in body["rules"]}
    assert list(rules) == [r.name for r in RULES]
    assert rules["dead_letter_share"]["state"] == "no_data"
    assert rules["no_events"] | {"description": ""} == {
        "rule": "no_events",
        "description": "",
        "setting": "alert_no_events_s",
        "threshold": 300.0,
        "state": "firing",
        "value": 0.0,
        "detail": "no event accepted in the last 300 s",
        "evaluated_at": "2026-11-21T12:11:50Z",
    }

    resolved = c.get("/alerts", params={"status": "resolved"}).json()["data"]
    assert [a["rule"] for a in resolved] == ["freshness"]
    assert [a["rule"] for a in c.get("/alerts", params={"status": "firing"}).json()["data"]] == [
        "job_restarting",
        "no_events",
    ]


def test_alerts_refuses_an_unknown_status_naming_the_parameter(
    client: tuple[TestClient, Shop, Flink, AlertEvaluator],
) -> None:
    r = client[0].get("/alerts", params={"status": "open"})
    assert r.status_code == 422
    [item] = r.json()["detail"]
    assert (item["loc"], item["type"]) == (["query", "status"], "literal_error")


def test_the_app_evaluates_from_its_start_and_reports_engines_that_do_not_answer(tmp_path: Path) -> None:
    app = create_app(Settings(port_offset=31000, run_dir=tmp_path))  # nothing listens on these ports
    with TestClient(app) as c:
        body = poll_until(
            lambda: c.get("/alerts").json(),
            lambda b: b["evaluated_at"] is not None,
            timeout_s=20,
            what="the first evaluation",
            interval_s=0.05,
        )
        assert body["data"] == []
        assert {r["rule"]: r["state"] for r in body["rules"]} == {r.name: "error" for r in RULES}
        assert any(
            line == 'rta_alerts_firing{rule="no_events"} 0.0'
            for line in c.get("/prometheus").text.splitlines()
        )


def test_a_change_the_receiver_rejects_for_good_is_dropped_and_the_next_one_delivered(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.script = [400]
    shop = Shop()
    ev = evaluator(tmp_path, shop, receiver=receiver, **only("no_events"))
    [fired] = ev.evaluate(at(0))
    assert drain(ev) == 0  # refused with a 400: not retried
    assert receiver.answered == [400]
    assert ev.snapshot().webhook.pending == 0
    assert ev.snapshot().webhook.last_error == "the webhook answered HTTP 400"
    shop.accepted.append(5.0)
    [resolved] = ev.evaluate(at(10))
    assert drain(ev) == 1  # the next change is not held back by the dropped one
    assert receiver.delivered() == [(fired.dedup_key, "resolved")]
    assert resolved.dedup_key == fired.dedup_key
