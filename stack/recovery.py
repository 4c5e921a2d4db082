"""A record that stops the job: see why the pipeline restarts, and set the record aside (`rta skip`).

The job's PARSE_EVENT function wraps any failure of the operators chained after it in
`rta.udf.RecordFailedException`, whose message names the raw record ("the job failed on the record at
partition P offset O of the raw topic: <cause>"). `failure` reads that out of Flink's exception
history; `skip` cancels the job, adds the record to the job's quarantine list (PARSE_EVENT then
dead-letters it with reason code `quarantined` before anything else reads it) and resumes the job
from its newest retained checkpoint, so every other record is processed exactly once.

What a job runs is its `JobSpec`, kept with its id in the job record
(`run_dir/flink/jobs/<job>.json`: {"job_id", "restored_from", "spec"}), so a quarantine outlives
`rta up`, `rta provision` and `rta provision --fresh`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import httpx

from core.datasets import JOB_NAME
from core.generations import Generation
from core.settings import Settings
from flink_jobs.pipeline import (
    PLAN_VERSION,
    Quarantined,
    Topics,
    Variant,
    job_config,
    statements,
    submit_pipeline,
)
from flink_jobs.runner import TERMINAL_STATES, FlinkRest
from flink_jobs.since import Since
from stack import provision

RECORD_FAILED = re.compile(r"the job failed on the record at partition (\d+) offset (\d+)")
_CAUSED_BY = re.compile(r"^\s*Caused by:\s*(.+)$", re.MULTILINE)


# --- what a job runs, and its record ---------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """Everything `submit_pipeline` needs to run a job again the same way (same plan, same state).

    `quarantine`: raw records set aside by an operator, at most one entry per (partition, offset).
    `extra_statements`: SQL appended to the product's (flink_jobs.pipeline.Variant), for tests.
    """

    job_name: str
    topics: Topics = field(default_factory=Topics)
    group_id: str = ""  # "" = the job name
    quarantine: tuple[Quarantined, ...] = ()
    extra_statements: tuple[str, ...] = ()
    state_backend: str | None = None
    """The state backend its checkpoints are written with; None: the settings' (a job with no state to
    resume). A record from before the backend was kept is read as hashmap (see from_json)."""
    plan_version: int = PLAN_VERSION
    """The job graph its checkpoints fit (flink_jobs.pipeline.PLAN_VERSION); 1 for older records."""
    since: Since | None = None
    """A rebuild from a time on (`rta backfill --from`): kept for good, since its graph is the one
    its checkpoints fit."""

    def __post_init__(self) -> None:
        if not self.group_id:
            object.__setattr__(self, "group_id", self.job_name)

    @classmethod
    def product(cls, job_name: str = JOB_NAME) -> JobSpec:
        """The product's job: its generation's topics (core/generations.py: a rebuild's job is named
        `<JOB_NAME>-gN`), its name as consumer group, nothing quarantined."""
        number = job_name.removeprefix(f"{JOB_NAME}-g")
        if job_name != JOB_NAME and number != job_name and number.isdigit():
            return cls(job_name, topics=Topics.for_generation(Generation(int(number))))
        return cls(job_name)

    def with_quarantined(self, record: Quarantined) -> JobSpec:
        """This spec with `record` set aside; unchanged (first reason kept) if that record already is."""
        if any((q.partition, q.offset) == (record.partition, record.offset) for q in self.quarantine):
            return self
        return replace(self, quarantine=(*self.quarantine, record))

    def quarantined(self, partition: int, offset: int) -> Quarantined | None:
        return next((q for q in self.quarantine if (q.partition, q.offset) == (partition, offset)), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "job_name": self.job_name,
            "topics": asdict(self.topics),
            "group_id": self.group_id,
            "quarantine": [asdict(q) for q in self.quarantine],
            "extra_statements": list(self.extra_statements),
            "state_backend": self.state_backend,
            "plan_version": self.plan_version,
            "since": None
            if self.since is None
            else {"t1_ms": self.since.t1_ms, "cut": {str(p): o for p, o in self.since.cut}},
        }

    @property
    def variant(self) -> Variant:
        """How its statements differ from the product's job."""
        return Variant(extra_statements=self.extra_statements, since=self.since)

    def resolved(self, settings: Settings) -> JobSpec:
        """This spec with its state backend named: the settings' unless it already has one."""
        return replace(self, state_backend=self.state_backend or settings.flink_state_backend)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobSpec:
        """Inverse of `to_json`. Raises KeyError/TypeError on a record that is not a spec."""
        known = {f.name for f in fields(Topics)}
        return cls(
            job_name=str(data["job_name"]),
            topics=Topics(**{k: str(v) for k, v in data.get("topics", {}).items() if k in known}),
            group_id=str(data.get("group_id") or data["job_name"]),
            quarantine=tuple(
                Quarantined(int(q["partition"]), int(q["offset"]), str(q["reason"]))
                for q in data.get("quarantine", [])
            ),
            extra_statements=tuple(str(s) for s in data.get("extra_statements", [])),
            # every job before the backend was recorded ran on the heap backend
            state_backend=data.get("state_backend", "hashmap"),
            plan_version=int(data.get("plan_version", 1)),
            since=None
            if not data.get("since")
            else Since(
                int(data["since"]["t1_ms"]),
                tuple(sorted((int(p), int(o)) for p, o in data["since"]["cut"].items())),
            ),
        )


def record_path(settings: Settings, job_name: str) -> Path:
    """The job record: run_dir/flink/jobs/<job>.json."""
    return provision._job_record(settings, job_name)


def read_record(settings: Settings, job_name: str) -> dict[str, Any] | None:
    """The job record as saved ({"job_id", "restored_from", "spec"}), or None before the first start."""
    path = record_path(settings, job_name)
    if not path.exists():
        return None
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def load_spec(settings: Settings, job_name: str | None = None) -> JobSpec:
    """The spec saved in the job's record; the product's spec for a job without one (a new stack, or a
    record written before specs were kept). Default: the job writing the served generation."""
    job_name = job_name or provision.serving(settings).job_name
    data = read_record(settings, job_name)
    if data is None:
        return JobSpec.product(job_name)
    if not data.get("spec"):  # every job before specs were kept ran on the heap backend
        return replace(JobSpec.product(job_name), state_backend="hashmap", plan_version=1)
    return JobSpec.from_json(data["spec"])


def plan_digest(settings: Settings, spec: JobSpec) -> str:
    """SHA-256 of what the job runs: its SQL statements and job options as `spec` and `settings` make
    them. A running job whose record holds another digest runs an older plan."""
    ddl, inserts = statements(
        settings,
        spec.topics,
        spec.job_name,
        spec.group_id,
        spec.variant,
        spec.quarantine,
        spec.state_backend,
    )
    plan = {
        "ddl": ddl,
        "inserts": inserts,
        "config": job_config(settings, spec.state_backend),
        "plan_version": spec.plan_version,
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def save_record(settings: Settings, spec: JobSpec, job_id: str, restored_from: Path | None) -> Path:
    """Write the job record: which job runs `spec` now (and its plan's digest), and the checkpoint it was
    started from."""
    path = record_path(settings, spec.job_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = spec.resolved(settings)
    record = {
        "job_id": job_id,
        "restored_from": str(restored_from) if restored_from else None,
        "spec": spec.to_json(),
        "plan": plan_digest(settings, spec),
    }
    path.write_text(json.dumps(record, indent=2))
    return path


def submit_spec(settings: Settings, spec: JobSpec, extra_config: Mapping[str, str] | None = None) -> str:
    """Submit the pipeline as `spec` describes it; returns the job id (not yet RUNNING)."""
    return submit_pipeline(
        settings,
        spec.topics,
        job_name=spec.job_name,
        group_id=spec.group_id,
        extra_config=extra_config,
        variant=spec.variant,
        quarantine=spec.quarantine,
        state_backend=spec.state_backend,
        plan_version=spec.plan_version,
    )


# --- why the job restarts --------------------------------------------------------------------------


@dataclass(frozen=True)
class JobFailure:
    """The newest failure of a job, as Flink reports it.

    `restarts`: Flink's numRestarts (else the number of exceptions in its history, at most
    `jobmanager.exception-history-size`). `exception`: the Java class name of the newest failure;
    `message`: the first line of its message; `cause`: the innermost "Caused by:" line, if any.
    `partition`/`offset`: the raw record it names, when the failure came from an operator chained to
    the source (rta.udf.RecordFailedException), else None.
    """

    job_id: str
    state: str
    restarts: int
    exception: str
    message: str
    cause: str | None = None
    partition: int | None = None
    offset: int | None = None
    timestamp_ms: int | None = None
    ongoing: bool = True
    """The job is still failing: restarting or failed, or its failure is newer than its newest
    completed checkpoint. A failure the job has recovered from is history, not a reason to skip."""

    @property
    def record(self) -> tuple[int, int] | None:
        """(partition, offset) of the raw record the job failed on, when known."""
        if self.partition is None or self.offset is None:
            return None
        return self.partition, self.offset


def failed_record(stacktrace: str) -> tuple[int, int] | None:
    """(partition, offset) named by a RecordFailedException anywhere in a Java stack trace."""
    match = RECORD_FAILED.search(stacktrace)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _message(stacktrace: str, name: str) -> str:
    """The first line of the exception's message: the trace's first line without "<class>: "."""
    first = stacktrace.strip().splitlines()[0] if stacktrace.strip() else ""
    for prefix in (f"{name}: ", f"{name}:", name):
        if name and first.startswith(prefix):
            return first[len(prefix) :].strip()
    return first.strip()


def _newest_exception(exceptions: Mapping[str, Any]) -> tuple[str, str, int | None] | None:
    """(class name, stack trace, timestamp ms) of the newest failure in a `GET /jobs/<id>/exceptions`
    answer: Flink 2.x's exceptionHistory entries, else (1.x) the root exception."""
    entries = (exceptions.get("exceptionHistory") or {}).get("entries") or []
    if entries:
        newest = max(entries, key=lambda e: int(e.get("timestamp") or 0))
        trace = str(newest.get("stacktrace") or "")
        name = str(newest.get("exceptionName") or "") or trace.split(":", 1)[0].strip()
        return name, trace, newest.get("timestamp")
    root = exceptions.get("root-exception")
    if root:
        trace = str(root)
        return trace.split(":", 1)[0].strip(), trace, exceptions.get("timestamp")
    return None


def history_size(exceptions: Mapping[str, Any]) -> int:
    """How many failures the exception history holds (a lower bound if Flink truncated it)."""
    entries = (exceptions.get("exceptionHistory") or {}).get("entries") or []
    return len(entries) or (1 if exceptions.get("root-exception") else 0)


def parse_failure(
    job_id: str, state: str, restarts: int | None, exceptions: Mapping[str, Any]
) -> JobFailure | None:
    """A JobFailure out of a job's state, its numRestarts (None: the metric is absent) and its
    `GET /jobs/<id>/exceptions` answer; None when the job has never failed."""
    newest = _newest_exception(exceptions)
    count = restarts if restarts is not None else history_size(exceptions)
    if newest is None:
        if not count:
            return None
        return JobFailure(job_id, state, count, "(no exception recorded)", "")
    name, trace, timestamp = newest
    causes = _CAUSED_BY.findall(trace)
    where = failed_record(trace)
    return JobFailure(
        job_id=job_id,
        state=state,
        restarts=count,
        exception=name,
        message=_message(trace, name),
        cause=causes[-1].strip() if causes else None,
        partition=where[0] if where else None,
        offset=where[1] if where else None,
        timestamp_ms=int(timestamp) if timestamp is not None else None,
    )


def _get(settings: Settings, path: str, **params: str) -> Any:
    with httpx.Client(base_url=settings.flink_rest_url, timeout=10.0) as client:
        r = client.get(path, params=params)
        r.raise_for_status()
        return r.json()


def restarts(settings: Settings, job_id: str) -> int | None:
    """Flink's numRestarts job metric; None when Flink does not report it (e.g. a job that ended, or
    metrics the JobManager has not fetched yet)."""
    try:
        answer = _get(settings, f"/jobs/{job_id}/metrics", get="numRestarts")
    except httpx.HTTPStatusError:
        return None
    for metric in answer or []:
        if metric.get("id") == "numRestarts":
            return int(float(metric["value"]))
    return None


FAILING_STATES = {"RESTARTING", "FAILING", "FAILED"}


def still_failing(state: str, failed_at_ms: int | None, checkpointed_at_ms: int | None) -> bool:
    """Whether a job is still failing: in a failing state, or failed after its newest completed
    checkpoint (a job that checkpointed since has got past whatever failed it)."""
    if state in FAILING_STATES:
        return True
    return failed_at_ms is not None and (checkpointed_at_ms is None or failed_at_ms > checkpointed_at_ms)


def failure(settings: Settings, job_id: str) -> JobFailure | None:
    """The job's newest failure (state, restarts, exception, and the raw record it names, if any);
    None when the job has never failed. Raises httpx.HTTPError when Flink does not answer."""
    with FlinkRest(settings) as rest:
        state = rest.state(job_id)
        completed = (rest.checkpoints(job_id).get("latest") or {}).get("completed") or {}
    found = parse_failure(
        job_id, state, restarts(settings, job_id), _get(settings, f"/jobs/{job_id}/exceptions")
    )
    if found is None:
        return None
    checkpointed = completed.get("latest_ack_timestamp")
    ongoing = still_failing(state, found.timestamp_ms, int(checkpointed) if checkpointed else None)
    return replace(found, ongoing=ongoing)


def current_job(settings: Settings, job_name: str | None = None) -> tuple[str, str] | None:
    """(job id, state) of the job named `job_name`: the active one, else the one its record names
    if Flink still knows it; None when neither exists. Default: the job writing the served generation."""
    job_name = job_name or provision.serving(settings).job_name
    with FlinkRest(settings) as rest:
        jobs = rest.jobs()
    for job in jobs:
        if job["name"] == job_name and job["state"] in provision.ACTIVE_STATES:
            return str(job["jid"]), str(job["state"])
    record = read_record(settings, job_name)
    recorded = record.get("job_id") if record else None
    for job in jobs:
        if job["jid"] == recorded:
            return str(job["jid"]), str(job["state"])
    return None


def skip_command(failure: JobFailure, job_name: str = JOB_NAME) -> str | None:
    """The exact `rta skip` command that sets the failure's record aside (None: no record named)."""
    if failure.record is None:
        return None
    job = f" --job {job_name}" if job_name != JOB_NAME else ""  # rta skip's default is the served job
    return f"rta skip --partition {failure.partition} --offset {failure.offset}{job}"


# --- setting a record aside ------------------------------------------------------------------------


class SkipError(RuntimeError):
    """`rta skip` could not set the record aside; the message says why and what to try."""


class NoCheckpointError(SkipError):
    """The job left no retained checkpoint to resume from, so it cannot resume past the record."""


@dataclass(frozen=True)
class Skipped:
    """What `skip` did: the job it stopped (if one was active), the record it set aside (`added`:
    False if it already was), and the job now running from `restored_from`."""

    job_id: str
    restored_from: Path
    quarantined: Quarantined
    added: bool
    cancelled: tuple[str, ...]
    action: str = "resumed"


def _wait_ended(settings: Settings, job_id: str, timeout_s: float) -> str:
    """Poll until the job is in a terminal state (CANCELED after a cancel); returns that state."""
    final = provision.wait_for_state(settings, job_id, TERMINAL_STATES, timeout_s)
    if final is None:
        raise SkipError(f"job {job_id} did not stop within {timeout_s:.0f}s of its cancel")
    return final


def skip(
    settings: Settings,
    job_name: str,
    partition: int,
    offset: int,
    reason: str,
    timeout_s: float = 120.0,
) -> Skipped:
    """Set the raw record at (partition, offset) aside and resume the job past it.

    Cancels the job if active (waits until it has stopped), adds the record to its spec's quarantine,
    and resubmits the job from its newest retained checkpoint (`execution.state-recovery.path`) with
    the same topics, group and statements, so its plan and state carry over. The resumed job re-reads
    everything after the checkpoint; the record becomes a dead letter with reason code `quarantined`
    and reason "quarantined by an operator: <reason>". Returns once the new job is RUNNING and
    recorded.

    Raises SkipError when the job has no record (never started by `rta`), NoCheckpointError (before
    touching the job) when it has no checkpoint to resume from, and provision.ProvisionError when the
    resumed job does not reach RUNNING.
    """
    if partition < 0 or offset < 0:
        raise ValueError(f"partition and offset must be >= 0, not {partition} and {offset}")
    record = record_path(settings, job_name)
    if not record.exists():
        raise SkipError(f"no record of a job {job_name!r} at {record}: was it started by `rta up`?")
    if provision.resume_point(settings, record) is None:
        raise NoCheckpointError(
            f"{job_name} has no retained checkpoint to resume from (it failed before its first one), "
            "so it cannot resume past the record exactly once; nothing was changed"
        )
    spec = load_spec(settings, job_name)

    cancelled: list[str] = []
    with FlinkRest(settings) as rest:
        for job in rest.jobs():
            if job["name"] == job_name and job["state"] in provision.ACTIVE_STATES:
                rest.cancel(job["jid"])
                cancelled.append(str(job["jid"]))
    for job_id in cancelled:
        _wait_ended(settings, job_id, timeout_s)

    # The newest checkpoint now that the job has stopped (retained on cancellation).
    checkpoint = provision.resume_point(settings, record)
    if checkpoint is None:  # pragma: no cover - checked above; a checkpoint is not deleted by a cancel
        raise NoCheckpointError(f"{job_name}'s checkpoints disappeared while it was stopped")
    set_aside = Quarantined(partition, offset, reason)
    resumed_spec = spec.with_quarantined(set_aside)
    try:
        job_id = submit_spec(settings, resumed_spec, {"execution.state-recovery.path": checkpoint.as_uri()})
    except Exception as exc:  # PyFlink raises Py4J/Table exceptions; keep the Java message
        raise SkipError(f"resubmitting {job_name} from {checkpoint} failed: {exc}") from exc
    # Recorded as soon as submitted: whatever happens next, the record names the job that now owns
    # the state and the quarantine, and the checkpoint it started from (resume_point falls back to it).
    save_record(settings, resumed_spec, job_id, checkpoint)
    provision._wait_running(settings, job_id, job_name, timeout_s)
    return Skipped(
        job_id=job_id,
        restored_from=checkpoint,
        quarantined=resumed_spec.quarantined(partition, offset) or set_aside,
        added=resumed_spec is not spec,
        cancelled=tuple(cancelled),
    )
