"""The alert rules, all in `RULES`: what each reads, the setting holding its threshold, when it fires.

Every rule reads what the API serves: arrivals (accepted and dead-lettered records by arrival time, as
`/metrics/data-quality` counts them), the funnel (as `/metrics/funnel` counts it), `meta.as_of`, all
through query/analytics.py; and the pipeline job's state and restarts from Flink's REST API.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.buckets import to_ms
from api.common import closed_minute
from core.generations import Generation
from core.settings import Settings
from query import analytics
from query.analytics import Filters, Tables
from query.pinot import Queryable
from query.serving import ServedTables, served

ENDED = frozenset({"FINISHED", "CANCELED", "FAILED"})
NOT_SUBMITTED = "NOT_SUBMITTED"


@dataclass(frozen=True)
class Reading:
    """One evaluation of a rule. `firing` None: too little data to judge, so the alert keeps its state
    (a rule must not resolve, or fire, on an empty window)."""

    value: float | None
    firing: bool | None
    summary: str


@dataclass(frozen=True)
class JobStatus:
    job_id: str | None
    state: str  # Flink's job state, or NOT_SUBMITTED
    restarts: int | None  # Flink's numRestarts; None when Flink does not report it (yet)


@dataclass(frozen=True)
class JobChange:
    """An observed (job id, numRestarts) that differs from the one before it."""

    at_ms: int
    job_id: str
    restarts: int


def restarts_within(changes: list[JobChange], now_ms: int, window_ms: int) -> int:
    """Restarts observed in (now - window, now]: numRestarts increments; a new job id (the job was
    submitted again: `rta skip`, a recovery) or a count that fell (the same job resumed by a new
    JobManager, whose count starts again at 0) counts one plus the restarts since."""
    n = 0
    for before, after in itertools.pairwise(changes):
        if after.at_ms > now_ms - window_ms:
            grew = after.job_id == before.job_id and after.restarts >= before.restarts
            n += after.restarts - before.restarts if grew else 1 + after.restarts
    return n


@dataclass(frozen=True)
class Funnel:
    views: int  # product_view events
    viewing_sessions: int
    buying_sessions: int

    @property
    def conversion(self) -> float | None:
        """View -> purchase as `/metrics/funnel` defines it (overall_conversion): sessions that purchased
        over sessions that viewed a product."""
        return self.buying_sessions / self.viewing_sessions if self.viewing_sessions else None


class Reads:
    """What the rules read, and the job observations the restart count needs (`job_changes`: the evaluator
    persists them, so a restarted API still knows what it saw within the window)."""

    def __init__(
        self,
        pinot: Queryable,
        tables: Tables | ServedTables,
        settings: Settings,
        flink: httpx.Client,
        job_name: str | None,
        job_changes: list[JobChange] | None = None,
    ) -> None:
        self.pinot = pinot
        self._tables = tables
        self.settings = settings
        self.flink = flink
        self._job_name = job_name
        self.job_changes = list(job_changes or [])

    @property
    def tables(self) -> Tables:
        """The tables served now (a rebuild switches them)."""
        return served(self._tables)

    @property
    def job_name(self) -> str:
        """The job watched: the one given, else the one writing the served generation."""
        if self._job_name is not None:
            return self._job_name
        generation = self._tables.generation if isinstance(self._tables, ServedTables) else None
        return (generation or Generation(0)).job_name

    def arrivals(self, start: datetime, end: datetime) -> tuple[int, int]:
        """(accepted, dead-lettered) records that arrived in [start, end): one data-quality bucket."""
        buckets = analytics.data_quality(self.pinot, self.tables, [to_ms(start), to_ms(end)]).rows
        accepted = sum(b.get("accepted", 0) for b in buckets.values())
        return accepted, sum(b.get("dead_lettered", 0) for b in buckets.values())

    def funnel(self, start: datetime, end: datetime) -> Funnel:
        row = analytics.funnel(self.pinot, self.tables, start, end, Filters(), None).rows[0]
        return Funnel(row["viewed_events"], row["viewed_sessions"], row["purchased_sessions"])

    def as_of(self) -> datetime | None:
        """The end of the newest final minute (every answer's `meta.as_of`); None without events."""
        newest = analytics.newest_event_time(self.pinot, self.tables).rows
        return closed_minute(newest, self.settings.watermark_delay_s)

    def job(self) -> JobStatus:
        """The job named `job_name`: the active one, else the newest that ended. Raises httpx.HTTPError
        when Flink does not answer."""
        jobs: list[dict[str, Any]] = self.flink.get("/jobs/overview").raise_for_status().json()["jobs"]
        mine = [j for j in jobs if j["name"] == self.job_name]
        if not mine:
            return JobStatus(None, NOT_SUBMITTED, None)
        active = [j for j in mine if j["state"] not in ENDED]
        job = max(active or mine, key=lambda j: int(j.get("start-time") or 0))
        answer = self.flink.get(f"/jobs/{job['jid']}/metrics", params={"get": "numRestarts"})
        restarts = None
        if answer.is_success:  # an ended job has no metrics: 404
            for metric in answer.json() or []:
                if metric.get("id") == "numRestarts":
                    restarts = int(float(metric["value"]))
        return JobStatus(str(job["jid"]), str(job["state"]), restarts)

    def observe(self, job: JobStatus, now_ms: int, window_ms: int) -> bool:
        """Note the job's restart count; forget what the window no longer needs (one change at or before
        its start stays: the baseline). True when `job_changes` changed."""
        if job.job_id is None:
            return False
        last = self.job_changes[-1] if self.job_changes else None
        known = last.restarts if last and last.job_id == job.job_id else 0
        restarts = job.restarts if job.restarts is not None else known
        changed = last is None or (last.job_id, last.restarts) != (job.job_id, restarts)
        if changed:
            self.job_changes.append(JobChange(now_ms, job.job_id, restarts))
        while len(self.job_changes) > 1 and self.job_changes[1].at_ms <= now_ms - window_ms:
            del self.job_changes[0]
            changed = True
        return changed


Judge = Callable[[Reads, datetime, Settings, float], Reading]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    setting: str  # the Settings field holding the threshold; 0 turns the rule off
    judge: Judge

    def threshold(self, settings: Settings) -> float:
        return float(getattr(settings, self.setting))


def _window(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.alert_window_s)


def _no_events(reads: Reads, now: datetime, settings: Settings, threshold: float) -> Reading:
    accepted, _ = reads.arrivals(now - timedelta(seconds=threshold), now)
    if accepted:
        return Reading(accepted, False, f"events accepted in the last {threshold:g} s: {accepted}")
    return Reading(0, True, f"no event accepted in the last {threshold:g} s")


def _dead_letter_share(reads: Reads, now: datetime, settings: Settings, threshold: float) -> Reading:
    accepted, dead = reads.arrivals(now - _window(settings), now)
    total, window = accepted + dead, settings.alert_window_s
    if not total:
        return Reading(None, None, f"no record arrived in the last {window} s")
    share = 100 * dead / total
    return Reading(
        round(share, 3),
        share > threshold,
        f"{share:.1f}% of the {total} records that arrived in the last {window} s were dead-lettered "
        f"({dead})",
    )


def _conversion_drop(reads: Reads, now: datetime, settings: Settings, threshold: float) -> Reading:
    end, window = reads.as_of(), _window(settings)
    if end is None:
        return Reading(None, None, "no event served yet")
    # Final minutes only (up to as_of): the open minute's purchases are not all in yet.
    current, previous = reads.funnel(end - window, end), reads.funnel(end - 2 * window, end - window)
    least = settings.alert_conversion_min_views
    if previous.views < least:
        return Reading(
            None, None, f"{previous.views} product views in the previous window (judged from {least})"
        )
    if not previous.conversion or current.conversion is None:
        side = "previous" if not previous.conversion else "latest"
        return Reading(None, None, f"no conversion to compare with in the {side} window")
    drop = 100 * (previous.conversion - current.conversion) / previous.conversion
    return Reading(
        round(drop, 3),
        drop > threshold,
        f"view -> purchase conversion {current.conversion:.1%} in the {settings.alert_window_s} s to "
        f"{end:%H:%M} UTC, against {previous.conversion:.1%} in the {settings.alert_window_s} s before "
        f"({-drop:+.1f}%)",
    )


def _freshness(reads: Reads, now: datetime, settings: Settings, threshold: float) -> Reading:
    closed = reads.as_of()
    if closed is None:
        return Reading(None, None, "no event served yet")
    behind = (now - closed).total_seconds()
    return Reading(
        round(behind, 3),
        behind > threshold,
        f"the newest final minute ended {behind:.0f} s ago ({closed:%H:%M} UTC)",
    )


def _job_restarting(reads: Reads, now: datetime, settings: Settings, threshold: float) -> Reading:
    job = reads.job()
    now_ms, window_ms = to_ms(now), settings.alert_window_s * 1000
    reads.observe(job, now_ms, window_ms)
    restarts = restarts_within(reads.job_changes, now_ms, window_ms)
    state = "not submitted" if job.state == NOT_SUBMITTED else job.state
    return Reading(
        restarts,
        job.state != "RUNNING" or restarts >= threshold,
        f"job {reads.job_name} is {state}; restarts in the last {settings.alert_window_s} s: {restarts}",
    )


RULES: tuple[Rule, ...] = (
    Rule(
        "no_events",
        "No event accepted (by arrival time) for alert_no_events_s seconds. value: events accepted in "
        "that time; fires at 0.",
        setting="alert_no_events_s",
        judge=_no_events,
    ),
    Rule(
        "dead_letter_share",
        "Dead letters / (accepted + dead letters) among the records that arrived in the last "
        "alert_window_s seconds, in %. Fires above the threshold; no verdict when nothing arrived.",
        setting="alert_dead_letter_share_pct",
        judge=_dead_letter_share,
    ),
    Rule(
        "conversion_drop",
        "How far (%) view -> purchase conversion (sessions that purchased / sessions that viewed a "
        "product, as /metrics/funnel) over the alert_window_s seconds up to meta.as_of is below the "
        "window before. Fires above the threshold; judged only when the window before had at least "
        "alert_conversion_min_views product views and some conversion.",
        setting="alert_conversion_drop_pct",
        judge=_conversion_drop,
    ),
    Rule(
        "freshness",
        "Seconds between now and meta.as_of (the end of the newest final minute). Fires above the "
        "threshold; no verdict before the first event.",
        setting="alert_freshness_s",
        judge=_freshness,
    ),
    Rule(
        "job_restarting",
        "The Flink pipeline job's restarts within the last alert_window_s seconds (numRestarts "
        "increments, a new submission counts one). Fires at the threshold, or whenever the job is "
        "not RUNNING (restarting, failing, failed, not submitted).",
        setting="alert_job_restarts",
        judge=_job_restarting,
    ),
)
