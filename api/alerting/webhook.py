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
from pydantic import ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_not_exception_type,
    stop_when_event_set,
    wait_exponential,
)

from api.alerting.store import AlertStore
from api.schemas import AlertNotice

log = logging.getLogger("rta.api.alerts")


class WebhookRefused(Exception):
    """The receiver answered, but not with a 2xx: tried again."""


class WebhookRejected(Exception):
    """The receiver will never take this change (a 4xx other than 408 / 429), or it no longer fits the
    notice's shape: dropped, so it does not hold back every later one."""


RETRIED_4XX = frozenset({408, 425, 429})


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
        try:
            body = AlertNotice.model_validate({**payload, "sent_at": self.clock()}).model_dump_json()
        except ValidationError as exc:
            raise WebhookRejected(f"the stored change no longer fits AlertNotice: {exc}") from exc
        answer = self.client.post(self.url, content=body, headers={"Content-Type": "application/json"})
        if answer.is_client_error and answer.status_code not in RETRIED_4XX:
            raise WebhookRejected(f"the webhook answered HTTP {answer.status_code}")
        if not answer.is_success:
            raise WebhookRefused(f"the webhook answered HTTP {answer.status_code}")

    def _failed(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        # Our own words only: a client error's text (addresses, errno) stays in the log below.
        self.last_error = str(exc) if isinstance(exc, WebhookRefused) else f"no answer ({type(exc).__name__})"
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("alerts: webhook attempt %d failed (%s); next in %.1f s", state.attempt_number, exc, wait)

    def _sleep(self, seconds: float) -> None:
        self.stopping.wait(seconds)  # a stop ends the wait at once

    def send(self, payload: dict[str, Any]) -> None:
        """POST one change until a 2xx. Raises the last attempt's error only when `stopping` is set."""
        retrying = Retrying(
            wait=wait_exponential(multiplier=1, max=self.max_backoff_s),
            stop=stop_when_event_set(self.stopping),
            retry=retry_if_not_exception_type(WebhookRejected),
            sleep=self._sleep,
            before_sleep=self._failed,
            reraise=True,
        )
        retrying(self._post, payload)
        self.last_error = None

    def drain(self) -> int:
        """Deliver the outbox, oldest first, until it is empty or `stopping` is set; how many were sent.
        A change the receiver rejects for good (WebhookRejected) is logged and dropped."""
        sent = 0
        while not self.stopping.is_set():
            with self.store.lock:
                if not self.store.outbox:
                    return sent
                payload = self.store.outbox[0]
            try:
                self.send(payload)
                self.delivered += 1
                sent += 1
            except WebhookRejected as exc:
                self.last_error = str(exc)
                log.error("alerts: dropped %s %s: %s", payload.get("dedup_key"), payload.get("status"), exc)
            except Exception as exc:  # only when stopping: the entry stays for the next start
                log.info("alerts: stopped before %s was delivered (%s)", payload.get("dedup_key"), exc)
                return sent
            with self.store.lock:
                if self.store.outbox and self.store.outbox[0] is payload:  # (not dropped meanwhile)
                    self.store.outbox.popleft()
                    self.store.save()
        return sent
