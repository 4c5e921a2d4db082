"""Give a running stack what the product needs: topics, Pinot tables and the pipeline job. Idempotent.

Run after `rta up` (the CLI does it for you). A second run changes nothing; after a restart of the
engines the pipeline resumes from its newest retained checkpoint, so nothing is reprocessed or doubled.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_exponential

from core import topics
from core.datasets import DATASETS, Dataset, Mode
from core.generations import Generation, read_serving, serving_path
from core.settings import Settings
from flink_jobs.pipeline import PLAN_VERSION
from flink_jobs.runner import TERMINAL_STATES, FlinkRest
from provisioning import pinot_tables
from provisioning.topics import DIMENSION_TOPIC_CONFIG, ensure_topic

if TYPE_CHECKING:
    from stack.recovery import JobSpec

RAW_RETENTION_MS = 7 * 24 * 3600 * 1000  # the replay window: how far back a backfill can start
ACTIVE_STATES = {"CREATED", "INITIALIZING", "RUNNING", "RESTARTING", "RECONCILING"}


def topic_config(dataset: Dataset | None) -> dict[str, str]:
    """Upsert topics keep the newest row per key (compaction); the others keep a week of records."""
    if dataset is not None and dataset.mode is Mode.UPSERT:
        return {"cleanup.policy": "compact", "min.compaction.lag.ms": "3600000"}
    return {"cleanup.policy": "delete", "retention.ms": str(RAW_RETENTION_MS)}


DIMENSION_TOPICS = (topics.DIM_PRODUCTS, topics.DIM_CUSTOMERS)


def serving(settings: Settings) -> Generation:
    """The generation the API serves (core/generations.py); 0 on a stack never rebuilt."""
    return read_serving(serving_path(settings.run_dir)).generation


def ensure_topics(settings: Settings, generation: Generation | None = None) -> list[str]:
    """The job's inputs (raw events; dimensions, compacted: docs/pipeline.md "Enrichment") and the
    outputs of `generation` (default: the served one)."""
    generation = serving(settings) if generation is None else generation
    ensure_topic(settings, topics.EVENTS, partitions=topics.PARTITIONS, config=topic_config(None))
    for name in DIMENSION_TOPICS:
        ensure_topic(settings, name, partitions=topics.PARTITIONS, config=DIMENSION_TOPIC_CONFIG)
    for d in DATASETS:
        name = generation.topic(d.topic)
        ensure_topic(settings, name, partitions=topics.PARTITIONS, config=topic_config(d))
    return [topics.EVENTS, *DIMENSION_TOPICS, *(generation.topic(d.topic) for d in DATASETS)]


def ensure_tables(settings: Settings, generation: Generation | None = None) -> list[str]:
    """The Pinot tables of `generation` (default: the served one), each reading its own topic."""
    generation = serving(settings) if generation is None else generation
    for d in DATASETS:
        definition = pinot_tables.with_overrides(
            pinot_tables.load(d.name),
            settings,
            table_name=generation.table(d.name),
            topic=generation.topic(d.topic),
        )
        pinot_tables.create(definition, settings)
    return [generation.table(d.name) for d in DATASETS]


def _job_record(settings: Settings, job_name: str) -> Path:
    return settings.run_dir / "flink" / "jobs" / f"{job_name}.json"


def resume_point(settings: Settings, record: Path) -> Path | None:
    """Where the last job left its state: its newest checkpoint, else (a job that failed to restore, or
    was stopped before its first checkpoint) the checkpoint it had itself been started from."""
    if not record.exists():
        return None
    last = json.loads(record.read_text())
    own = latest_checkpoint(settings, last["job_id"])
    inherited = Path(last["restored_from"]) if last.get("restored_from") else None
    return own or (inherited if inherited and (inherited / "_metadata").exists() else None)


def latest_checkpoint(settings: Settings, job_id: str) -> Path | None:
    """The newest complete checkpoint a job left behind (a checkpoint is complete once it has _metadata)."""
    root = settings.run_dir / "flink" / "checkpoints" / job_id
    done = [p.parent for p in root.glob("chk-*/_metadata")]
    return max(done, key=lambda p: int(p.name.removeprefix("chk-")), default=None)


class ProvisionError(RuntimeError):
    """Something the product needs could not be put in place; the message says what and what to try."""


@dataclass(frozen=True)
class PipelineState:
    job_id: str
    action: str  # "already running", "resumed", "started"
    restored_from: Path | None = None


def ensure_pipeline(
    settings: Settings, job_name: str | None = None, fresh: bool = False, spec: JobSpec | None = None
) -> PipelineState:
    """Leave the pipeline running: keep a running job, else resume the last one from its newest
    checkpoint, else start it where its consumer group's committed offsets say (the beginning of the
    raw topic for a new group). `fresh` skips the resume: a job whose SQL changed cannot use old state.

    The job runs as its record's spec says (topics, group, quarantined records: stack/recovery.py),
    the product's spec for a new stack; `spec` (its job_name wins over `job_name`) replaces it. The
    default job is the one writing the served generation (core/generations.py)."""
    from stack import recovery  # recovery builds on this module

    job_name = spec.job_name if spec else (job_name or serving(settings).job_name)
    record = _job_record(settings, job_name)
    spec = spec or recovery.load_spec(settings, job_name)
    with FlinkRest(settings) as rest:
        active = [j for j in rest.jobs() if j["name"] == job_name and j["state"] in ACTIVE_STATES]
        if active:
            recorded = json.loads(record.read_text()).get("plan") if record.exists() else None
            if not fresh and recorded in (None, recovery.plan_digest(settings, spec)):
                return PipelineState(active[0]["jid"], "already running")
            # Flink's high availability brings back after `rta up` the job that ran before `rta down`,
            # with its old plan: a changed plan (new SQL or settings), or --fresh, replaces it.
            for job in active:
                rest.cancel(job["jid"])
    for job in active:
        if wait_for_state(settings, job["jid"], TERMINAL_STATES, 120) is None:
            raise ProvisionError(f"job {job['jid']} of {job_name} did not stop within 120 s of its cancel")
    checkpoint = None if fresh else resume_point(settings, record)
    if checkpoint is None:  # no state to carry over: the settings' backend and the current graph
        spec = replace(spec, state_backend=None, plan_version=PLAN_VERSION)
    config = {"execution.state-recovery.path": checkpoint.as_uri()} if checkpoint else None
    try:
        job_id = recovery.submit_spec(settings, spec, config)
    except Exception as exc:  # PyFlink raises Py4J/Table exceptions; keep the Java message, add a hint
        hint = (
            " (if the job's SQL changed since that checkpoint, run `rta backfill` to rebuild beside it)"
            if checkpoint
            else ""
        )
        raise ProvisionError(f"submitting {job_name} failed{hint}: {exc}") from exc
    # Recorded as soon as submitted, with the checkpoint it starts from: a job that cannot restore
    # hands that checkpoint on (resume_point), and a slow start never leaves the record naming a
    # cancelled job and an older spec.
    recovery.save_record(settings, spec, job_id, checkpoint)
    _wait_running(settings, job_id, job_name)
    return PipelineState(job_id, "resumed" if checkpoint else "started", checkpoint)


def wait_for_state(settings: Settings, job_id: str, settled: Collection[str], timeout_s: float) -> str | None:
    """Poll a job's state (backing off up to 2 s) until it is one of `settled`; that state, or None
    when `timeout_s` passed first."""

    def state() -> str:
        with FlinkRest(settings) as rest:
            return rest.state(job_id)

    polling = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_result(lambda s: s not in settled),
    )
    try:
        return str(polling(state))
    except RetryError:
        return None


def _wait_running(settings: Settings, job_id: str, job_name: str, timeout_s: float = 120.0) -> None:
    """Poll the job's state until RUNNING; a job that fails (e.g. on incompatible state) is an error."""
    final = wait_for_state(settings, job_id, {"RUNNING", *TERMINAL_STATES}, timeout_s)
    if final is None:
        raise ProvisionError(f"{job_name} ({job_id}) not RUNNING after {timeout_s:.0f}s")
    if final != "RUNNING":
        raise ProvisionError(
            f"{job_name} ({job_id}) is {final}; see its exceptions at {settings.flink_rest_url}"
            " (after a change to the job's SQL, `rta backfill` rebuilds beside the served outputs)"
        )


def provision(settings: Settings, fresh: bool = False, pipeline: bool = True) -> PipelineState | None:
    ensure_topics(settings)
    ensure_tables(settings)
    return ensure_pipeline(settings, fresh=fresh) if pipeline else None
