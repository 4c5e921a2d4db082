"""The alert loop: every `alert_interval_s` each rule is read, and its alert fired or resolved.

One thread evaluates, another delivers the outbox to the webhook (a receiver that is down never delays
an evaluation). A rule that cannot be read (Pinot or Flink not answering) keeps its alert as it was and
reports the error in its `AlertRule.state` / `detail`: an outage of a source does not flap alerts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import httpx
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.alerting.rules import RULES, Reading, Reads, Rule
from api.alerting.store import AlertStore
from api.alerting.webhook import Webhook
from api.buckets import to_ms
from api.schemas import Alert, AlertRule, Alerts, AlertStatus, WebhookState
from core.settings import Settings
from query.analytics import Tables
from query.pinot import PinotError, Queryable
from query.serving import ServedTables

log = logging.getLogger("rta.api.alerts")
STOP_WAIT_S = 5.0  # shutdown waits this long for a round in progress (threads are daemons after that)


def _now() -> datetime:
    return datetime.now(UTC)


class AlertEvaluator:
    """The rules, their alerts and the webhook. `start()` runs the loop in threads, `stop()` ends it;
    tests call `evaluate(now)` and `webhook.drain()` directly.

    `pinot`/`tables`: what the metric routes query (app.state.pinot, app.state.tables). `job_name`: the
    Flink job watched (None: the one writing the served generation). `flink`, `webhook`: HTTP clients
    (tests pass their own transports; by default one to `settings.flink_rest_url` and one with
    `alert_webhook_timeout_s`). `clock`: now, UTC-aware.
    State lives in `settings.run_dir / "alerts" / "state.json"` (api/alerting/store.py).
    """

    def __init__(
        self,
        settings: Settings,
        pinot: Queryable,
        tables: Tables | ServedTables,
        job_name: str | None = None,
        *,
        flink: httpx.Client | None = None,
        webhook: httpx.Client | None = None,
        clock: Callable[[], datetime] = _now,
        rules: Sequence[Rule] = RULES,
    ) -> None:
        self.settings = settings
        self.rules = tuple(rules)
        self.clock = clock
        self.store = AlertStore(settings.run_dir / "alerts" / "state.json")
        self._owned: list[httpx.Client] = []
        if flink is None:
            flink = httpx.Client(base_url=settings.flink_rest_url, timeout=3.0)
            self._owned.append(flink)
        self.reads = Reads(pinot, tables, settings, flink, job_name, self.store.job_changes)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self.webhook: Webhook | None = None
        if settings.alert_webhook_url:
            if webhook is None:
                webhook = httpx.Client(timeout=settings.alert_webhook_timeout_s)
                self._owned.append(webhook)
            self.webhook = Webhook(
                self.store,
                settings.alert_webhook_url,
                webhook,
                settings.alert_webhook_max_backoff_s,
                self._stopping,
                clock,
            )
        self.evaluated_at: datetime | None = None
        self.status = {
            rule.name: AlertRule(
                rule=rule.name,
                description=rule.description,
                setting=rule.setting,
                threshold=rule.threshold(settings),
                state="pending" if rule.threshold(settings) > 0 else "off",
                value=None,
                detail=None,
                evaluated_at=None,
            )
            for rule in self.rules
        }
        self._threads: list[threading.Thread] = []
        self.collector = _FiringCollector(self)

    # --- one round ----------------------------------------------------------------------------------

    def _read(self, rule: Rule, threshold: float, now: datetime) -> Reading | str:
        """The rule's reading, or why it could not be read."""
        try:
            return rule.judge(self.reads, now, self.settings, threshold)
        except PinotError as exc:
            log.warning("alerts: %s: Pinot did not answer: %s (%s)", rule.name, exc, exc.detail)
            return f"Pinot did not answer: {exc}"
        except httpx.HTTPError as exc:
            log.warning("alerts: %s: Flink did not answer: %s", rule.name, exc)
            return f"Flink's REST API did not answer ({type(exc).__name__}; details in the API log)"
        except Exception as exc:  # a bug in a rule must not stop the others
            log.exception("alerts: %s could not be evaluated", rule.name)
            return f"could not be evaluated ({type(exc).__name__}; details in the API log)"

    def evaluate(self, now: datetime | None = None) -> list[Alert]:
        """One round: read every rule that is on; fire or resolve its alert; persist the changes and queue
        them for the webhook. Returns the changes (fired and resolved alerts), in rule order."""
        now = now or self.clock()
        readings = {
            rule.name: self._read(rule, t, now) if (t := rule.threshold(self.settings)) > 0 else None
            for rule in self.rules
        }
        with self.store.lock:
            changes = [
                change
                for rule in self.rules
                if (change := self._apply(rule, readings[rule.name], now)) is not None
            ]
            saw_jobs = self.store.job_changes != self.reads.job_changes
            self.store.job_changes = list(self.reads.job_changes)
            if changes or saw_jobs:
                self.store.save()
            self.evaluated_at = now
        if changes:
            self._wake.set()
        return changes

    def _apply(self, rule: Rule, reading: Reading | str | None, now: datetime) -> Alert | None:
        """Record the rule's state; fire or resolve its alert. The change, if any (lock held)."""
        threshold = rule.threshold(self.settings)
        alert = self.store.firing.get(rule.name)
        status = self.status[rule.name]
        if reading is None:
            self.status[rule.name] = status.model_copy(update={"state": "off", "evaluated_at": now})
            if alert is None:
                return None
            reading = Reading(alert.value, False, "the rule was turned off (its threshold is 0)")
        elif isinstance(reading, str):
            self.status[rule.name] = status.model_copy(
                update={"state": "error", "value": None, "detail": reading, "evaluated_at": now}
            )
            return None
        else:
            state = "no_data" if reading.firing is None else "firing" if reading.firing else "ok"
            self.status[rule.name] = status.model_copy(
                update={
                    "state": state,
                    "value": reading.value,
                    "detail": reading.summary,
                    "evaluated_at": now,
                }
            )
        if reading.firing is None:
            return None
        if reading.firing and alert is None:
            alert = Alert(
                dedup_key=f"{rule.name}:{to_ms(now)}",
                rule=rule.name,
                status="firing",
                started_at=now,
                resolved_at=None,
                value=reading.value,
                threshold=threshold,
                summary=reading.summary,
            )
            self.store.firing[rule.name] = alert
            return self._changed(alert)
        if alert is None:
            return None
        if reading.firing:  # still firing: newest numbers, no notification
            update = {"value": reading.value, "summary": reading.summary}
            self.store.firing[rule.name] = alert.model_copy(update=update)
            return None
        resolved = alert.model_copy(
            update={
                "status": "resolved",
                "resolved_at": now,
                "value": reading.value,
                "threshold": threshold,
                "summary": reading.summary,
            }
        )
        del self.store.firing[rule.name]
        self.store.resolved.append(resolved)
        return self._changed(resolved)

    def _changed(self, alert: Alert) -> Alert:
        log.warning("alerts: %s %s: %s", alert.rule, alert.status, alert.summary)
        if self.webhook is not None:  # no webhook: nothing queued, so none is sent to one set up later
            self.store.enqueue(alert.model_dump(mode="json"))
        return alert

    # --- what GET /alerts answers ---------------------------------------------------------------------

    def snapshot(self, status: AlertStatus | None = None) -> Alerts:
        """The rules' newest evaluation and the alerts (firing first, then resolved; newest first)."""
        with self.store.lock:
            firing = sorted(self.store.firing.values(), key=lambda a: a.started_at, reverse=True)
            resolved = sorted(self.store.resolved, key=lambda a: a.resolved_at or a.started_at, reverse=True)
            pending = len(self.store.outbox)
            rules = list(self.status.values())
            evaluated_at = self.evaluated_at
        return Alerts(
            evaluated_at=evaluated_at,
            interval_s=self.settings.alert_interval_s,
            rules=rules,
            webhook=WebhookState(
                configured=self.webhook is not None,
                pending=pending,
                delivered=self.webhook.delivered if self.webhook else 0,
                last_error=self.webhook.last_error if self.webhook else None,
            ),
            data=[a for a in (*firing, *resolved) if status is None or a.status == status],
        )

    # --- the threads ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Evaluate now and every `alert_interval_s` (unless 0); deliver the outbox (with a webhook)."""
        loops = []
        if self.settings.alert_interval_s > 0:
            loops.append(("rta-alerts", self._evaluate_loop))
        if self.webhook is not None:
            loops.append(("rta-alerts-webhook", self._deliver_loop))
        for name, loop in loops:
            thread = threading.Thread(target=loop, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _evaluate_loop(self) -> None:
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                self.evaluate()
            except Exception:  # e.g. the state file cannot be written: try again next round
                log.exception("alerts: evaluation round failed")
            self._stopping.wait(max(0.0, self.settings.alert_interval_s - (time.monotonic() - started)))

    def _deliver_loop(self) -> None:
        assert self.webhook is not None
        while not self._stopping.is_set():
            self._wake.clear()  # before draining: a change queued meanwhile wakes the next wait
            try:
                self.webhook.drain()
            except Exception:
                log.exception("alerts: webhook delivery failed")
            self._wake.wait(self.settings.alert_webhook_max_backoff_s)

    def stop(self) -> None:
        """End both loops (a delivery waiting to retry stops at once; its entry stays in the outbox)."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=STOP_WAIT_S)
        self._threads.clear()
        for client in self._owned:
            client.close()


class _FiringCollector(Collector):
    """`rta_alerts_firing{rule}` for /prometheus: 1 while the rule's alert fires, else 0."""

    def __init__(self, evaluator: AlertEvaluator) -> None:
        self.evaluator = evaluator

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(
            "rta_alerts_firing", "1 while the rule's alert is firing (GET /alerts)", labels=["rule"]
        )
        with self.evaluator.store.lock:
            firing = set(self.evaluator.store.firing)
        for rule in self.evaluator.rules:
            gauge.add_metric([rule.name], 1.0 if rule.name in firing else 0.0)
        yield gauge
