"""What the alerts keep across API restarts, in one JSON file written atomically.

`run_dir/alerts/state.json`: the firing alerts (so a restarted API neither fires them again nor loses
their dedup keys), the newest resolved ones, the webhook outbox (changes not yet acknowledged) and the
job observations the restart rule needs. A change and its outbox entry are written in one
`os.replace`, so both are saved or neither is: no change is lost between evaluation and delivery.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections import deque
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from api.alerting.rules import JobChange
from api.schemas import Alert

log = logging.getLogger("rta.api.alerts")
HISTORY = 100  # resolved alerts kept
OUTBOX = 1000  # undelivered changes kept; past this the oldest is dropped (logged): the file stays small


class AlertStore:
    """In memory, guarded by `lock` (the evaluator, the webhook sender and GET /alerts share it); `save()`
    (with the lock held) writes it all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.firing: dict[str, Alert] = {}  # rule -> its firing alert
        self.resolved: deque[Alert] = deque(maxlen=HISTORY)  # oldest first
        self.outbox: deque[dict[str, Any]] = deque()  # Alert payloads (JSON), oldest first
        self.job_changes: list[JobChange] = []
        self._load()

    def _load(self) -> None:
        try:
            data = orjson.loads(self.path.read_bytes())
            firing = [Alert.model_validate(a) for a in data["firing"]]
            resolved = [Alert.model_validate(a) for a in data["resolved"]]
            outbox = [dict(p) for p in data["outbox"]]
            changes = [JobChange(int(c["at_ms"]), str(c["job_id"]), int(c["restarts"])) for c in data["jobs"]]
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Unreadable: start empty rather than not at all, and keep the file for a person to look at.
            aside = self.path.with_name(f"{self.path.name}.unreadable-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            log.error("alerts: %s is unreadable (%s); moved to %s, starting empty", self.path, exc, aside)
            self.path.replace(aside)
            return
        self.firing = {a.rule: a for a in firing}
        self.resolved.extend(resolved)
        self.outbox.extend(outbox)
        self.job_changes = changes

    def enqueue(self, payload: dict[str, Any]) -> None:
        self.outbox.append(payload)
        while len(self.outbox) > OUTBOX:
            dropped = self.outbox.popleft()
            log.error("alerts: outbox full, dropped %s %s", dropped.get("dedup_key"), dropped.get("status"))

    def save(self) -> None:
        """Write everything to `path` atomically (a temporary file in the same directory, fsync, rename)."""
        body = orjson.dumps(
            {
                "firing": [a.model_dump(mode="json") for a in self.firing.values()],
                "resolved": [a.model_dump(mode="json") for a in self.resolved],
                "outbox": list(self.outbox),
                "jobs": [asdict(c) for c in self.job_changes],
            },
            option=orjson.OPT_INDENT_2,
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
