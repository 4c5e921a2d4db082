"""Delivery of alert changes to the configured webhook: at least once, in order, from the persisted outbox.

Each outbox entry is POSTed as JSON (`api.schemas.AlertNotice`: the alert as it changed, and `sent_at`)
until the receiver answers 2xx, waiting 1, 2, 4 ... s between attempts (at most
`alert_webhook_max_backoff_s`); only then is it removed from the outbox. An entry sent but not yet
removed when the API stops is sent again after the restart, so a receiver can see a change twice: it
drops a (dedup_key, status) pair it has seen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, stop_when_event_set, wait_exponential

from api.alerting.store import AlertStore
from api.schemas import AlertNotice

log = logging.getLogger("rta.api.alerts")


class WebhookRefused(Exception):
    """The receiver answered, but not with a 2xx."""


class Webhook:
    def __init__(
        self,
        store: AlertStore,
        url: str,
        client: httpx.Client,
        max_backoff_s: float,
        stopping: threading.Event,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.url = url
        self.client = client
        self.max_backoff_s = max_backoff_s
        self.stopping = stopping
        self.clock = clock
        self.delivered = 0
        self.last_error: str | None = None

    def _post(self, payload: dict[str, Any]) -> None:
        body = AlertNotice.model_validate({**payload, "sent_at": self.clock()}).model_dump_json()
        answer = self.client.post(self.url, content=body, headers={"Content-Type": "application/json"})
        if not answer.is_success:
            raise WebhookRefused(f"the webhook answered HTTP {answer.status_code}")

    def _failed(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        self.last_error = f"{type(exc).__name__}: {exc}"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("alerts: webhook attempt %d failed (%s); next in %.1f s", state.attempt_number, exc, wait)

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)  # a stop ends the wait at once

    def send(self, payload: dict[str, Any]) -> None:
        """POST one change until a 2xx. Raises the last attempt's error only when `stopping` is set."""
        retrying = Retrying(
            wait=wait_exponential(multiplier=1, max=self.max_backoff_s),
            stop=stop_when_event_set(self.stopping),
            sleep=self._sleep,
            before_sleep=self._failed,
            reraise=True,
        )
        retrying(self._post, payload)
        self.last_error = None

    def drain(self) -> int:
        """Deliver the outbox, oldest first, until it is empty or `stopping` is set; how many were sent."""
        sent = 0
        while not self.stopping.is_set():
            with self.store.lock:
                if not self.store.outbox:
                    return sent
                payload = self.store.outbox[0]
            try:
                self.send(payload)
            except Exception as exc:  # only when stopping: the entry stays for the next start
                log.info("alerts: stopped before %s was delivered (%s)", payload.get("dedup_key"), exc)
                return sent
            with self.store.lock:
                if self.store.outbox and self.store.outbox[0] is payload:  # (not dropped meanwhile)
                    self.store.outbox.popleft()
                    self.store.save()
            self.delivered += 1
            sent += 1
        return sent
