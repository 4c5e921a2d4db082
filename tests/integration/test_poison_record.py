"""Fault injection: one raw record on which the job fails at run time, again after every restart.

A deliberately buggy extra INSERT (a CAST that throws on exactly one record) stands for a future bug or
a connector error. `recovery.failure` (what `rta status` shows) must name that record's partition and
offset; `recovery.skip` (`rta skip`) must set it aside as a quarantined dead letter and resume the job
from its checkpoint, after which the output topics hold every other record's output exactly once and
Pinot serves the oracle's numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson
import pytest

from core.datasets import DATASETS
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults
from flink_jobs.pipeline import Quarantined, Topics
from flink_jobs.runner import FlinkRest
from provisioning import pinot_tables
from stack import provision, recovery
from stack.recovery import JobSpec
from tests.support.builders import consume, new_topic, unique
from tests.support.e2e import (
    assert_pinot_serves,
    assert_topics_exactly_once,
    raw_records,
    send_all,
    settled_records,
)
from tests.support.oracle import expected
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration

POISON_ID = "poison-pill"
# The contract rejects the poison record (user_id 42 is not a string: reason_field 'user_id'), so only it
# reaches this INSERT, whose CAST of 'user_id' to INT throws at run time. Once quarantined, its
# reason_field is NULL and the CAST passes.
POISON_STATEMENTS = (
    "CREATE TABLE poison_sink (x INT) WITH ('connector' = 'blackhole')",
    "INSERT INTO poison_sink SELECT CAST(reason_field AS INT) FROM parsed_events"
    f" WHERE payload_text LIKE '%\"{POISON_ID}\"%'",
)
REASON = "made the job fail in test_poison_record"


@dataclass(frozen=True)
class PoisonedPipeline:
    spec: JobSpec
    tables: dict[str, str]  # dataset name -> Pinot table
    job_id: str


@contextmanager
def poisoned_pipeline(settings: Settings, prefix: str) -> Iterator[PoisonedPipeline]:
    """The pipeline plus the buggy INSERT on fresh topics and tables, started through its job record
    (provision.ensure_pipeline with a JobSpec); every job of that name is cancelled afterwards."""
    where = Topics(**{name: new_topic(settings, f"{prefix}_{name}") for name in Topics.__dataclass_fields__})
    tables = {d.name: unique(f"{prefix}_{d.name}") for d in DATASETS}
    spec = JobSpec(job_name=unique(f"{prefix}_pipeline"), topics=where, extra_statements=POISON_STATEMENTS)
    try:
        for d in DATASETS:
            definition = pinot_tables.with_overrides(
                pinot_tables.load(d.name), settings, table_name=tables[d.name], topic=where.for_dataset(d)
            )
            pinot_tables.create(definition, settings)
        state = provision.ensure_pipeline(settings, spec=spec)
        assert (state.action, state.restored_from) == ("started", None)
        yield PoisonedPipeline(spec, tables, state.job_id)
    finally:
        with FlinkRest(settings) as rest:
            for job in rest.jobs():
                if job["name"] == spec.job_name and job["state"] in provision.ACTIVE_STATES:
                    rest.cancel(job["jid"])
        pinot_tables.drop_all(tables.values(), settings)
        recovery.record_path(settings, spec.job_name).unlink(missing_ok=True)


def _traffic(start: datetime, count: int, seed: int) -> tuple[list[Outgoing], Outgoing, list[Outgoing]]:
    """Generated events without faults, split in two halves, and the poison record between them: a
    product_view copied from the first half with its own event_id and a number as user_id."""
    stream = EventStream(seed, start=start, rate=50.0, users=300, products=60)
    events = list(apply_faults(islice(stream, count), FaultShares(), seed=seed))
    first, second = events[: count // 2], events[count // 2 :]
    template = next(o for o in first if b'"product_view"' in o.value)
    payload = orjson.dumps({**orjson.loads(template.value), "event_id": POISON_ID, "user_id": 42})
    return first, Outgoing(template.key, payload, Fault.MALFORMED, template.timestamp_ms), second


def test_a_record_that_fails_the_job_is_named_and_skipped_exactly_once(
    settings: Settings, record_property: Any
) -> None:
    first, poison, second = _traffic(datetime.now(UTC) - timedelta(seconds=60), count=1000, seed=31)
    with poisoned_pipeline(settings, "poison") as pipeline, FlinkRest(settings) as rest:
        where = pipeline.spec.topics
        send_all(settings, where.raw_events, first, 500.0)
        # The first half committed: a checkpoint covers it, so there is a checkpoint to resume from.
        first_want = expected(raw_records(settings, where.raw_events), settings)
        consume(settings, where.events, expected=len(first_want.accepted), timeout_s=90)
        assert provision.latest_checkpoint(settings, pipeline.job_id) is not None

        send_all(settings, where.raw_events, [poison], 100.0)
        send_all(settings, where.raw_events, second, 500.0)
        raw = raw_records(settings, where.raw_events)
        poison_at = next((r.partition, r.offset) for r in raw if r.value and POISON_ID.encode() in r.value)

        failed = poll_until(
            lambda: recovery.failure(settings, pipeline.job_id),
            lambda f: f is not None and f.record == poison_at and f.restarts >= 1,
            timeout_s=180,
            what=f"a restarting job naming the poison record {poison_at}",
        )
        assert failed is not None
        print(f"\nrta status would show: {failed.state}, {failed.restarts} restarts, {failed.exception}")
        print(f"  caused by: {failed.cause}")
        assert recovery.skip_command(failed, pipeline.spec.job_name) == (
            f"rta skip --partition {poison_at[0]} --offset {poison_at[1]} --job {pipeline.spec.job_name}"
        )

        started = time.monotonic()
        done = recovery.skip(settings, pipeline.spec.job_name, *poison_at, reason=REASON)
        skip_s = time.monotonic() - started
        assert done.cancelled == (pipeline.job_id,)
        assert done.added
        assert done.restored_from.parent.name == pipeline.job_id  # the failed job's own checkpoint
        assert rest.state(done.job_id) == "RUNNING"
        poll_until(
            lambda: rest.checkpoints(done.job_id)["counts"]["completed"],
            lambda n: n >= 1,
            timeout_s=90,
            what="a completed checkpoint of the resumed job",
        )
        checkpointing_s = time.monotonic() - started
        record_property("skip_to_running_s", round(skip_s, 1))
        record_property("skip_to_checkpoint_s", round(checkpointing_s, 1))
        print(f"skip -> RUNNING: {skip_s:.1f} s; -> checkpointing again: {checkpointing_s:.1f} s")

        # The quarantine is the job's own now: kept in its record for `rta up` and `rta provision`.
        assert recovery.load_spec(settings, pipeline.spec.job_name).quarantine == (
            Quarantined(*poison_at, REASON),
        )
        quarantined_spec = recovery.load_spec(settings, pipeline.spec.job_name)
        assert recovery.read_record(settings, pipeline.spec.job_name) == {
            "job_id": done.job_id,
            "restored_from": str(done.restored_from),
            "spec": quarantined_spec.to_json(),
            "plan": recovery.plan_digest(settings, quarantined_spec),  # the quarantine is part of it
        }
        assert recovery.plan_digest(settings, quarantined_spec) != recovery.plan_digest(
            settings, pipeline.spec
        )

        want = expected(settled_records(settings, where.raw_events), settings)
        assert poison_at in want.dead_letters  # the contract rejects it too (wrong_type user_id)
        assert len(want.accepted) > 950
        assert_topics_exactly_once(settings, where, want)
        dead = consume(settings, where.dead_letters, expected=len(want.dead_letters))
        poisoned = [
            r.value for r in dead if (r.value["source_partition"], r.value["source_offset"]) == poison_at
        ]
        assert len(poisoned) == 1
        assert poisoned[0]["reason_code"] == "quarantined"
        assert poisoned[0]["reason"] == f"quarantined by an operator: {REASON}"
        assert_pinot_serves(settings, pipeline.tables, want)

        assert rest.state(done.job_id) == "RUNNING"
        assert recovery.failure(settings, done.job_id) is None  # past the record, it has not failed
