"""`rta backfill` on the real stack: every dataset recomputed from the raw topic into generation 1 while
generation 0 serves and traffic keeps arriving, then the API switched at once; the served numbers equal
the oracle's over the whole raw topic afterwards, nothing counted twice, nothing lost.

Uses the product's own names in the test stack, like test_provision.py (and cleans up the same way).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient, KafkaProducer

from api.main import create_app
from core import topics
from core.datasets import ACTIVE_USERS, DATASETS, JOB_NAME
from core.events import to_epoch_millis
from core.generations import Generation
from core.metrics import ActiveUsersMinute
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, Outgoing, apply_faults
from flink_jobs.runner import TERMINAL_STATES, FlinkRest
from query.analytics import Tables
from stack import backfill, provision, recovery
from tests.support.api_checks import assert_api_serves
from tests.support.builders import reset_product_pipeline
from tests.support.e2e import assert_pinot_serves, send_all, settled_records, traffic
from tests.support.oracle import expected
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration
RTA = str(Path(sys.executable).with_name("rta"))


@pytest.fixture
def cleanup(settings: Settings) -> Iterator[None]:
    reset_product_pipeline(settings)
    yield
    reset_product_pipeline(settings)


def _tables(generation: Generation) -> dict[str, str]:
    return asdict(Tables.for_generation(generation))


def test_backfill_rebuilds_every_dataset_and_the_api_switches_at_once(
    settings: Settings, cleanup: None
) -> None:
    first = provision.provision(settings)
    assert first is not None
    start = datetime.now(UTC) - timedelta(seconds=150)
    send_all(settings, topics.EVENTS, traffic(start, 1500, seed=41), rate=1500)
    before = expected(settled_records(settings, topics.EVENTS), settings)
    assert_pinot_serves(settings, _tables(Generation(0)), before)

    with TestClient(create_app(settings)) as client:
        seen: list[tuple[int, str, int]] = []  # (status, table answered from, accepted events)
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                r = client.get("/metrics/summary", params={"from": "-1d"})
                body = r.json()
                seen.append((r.status_code, body["meta"]["source"], body["data"]["events"]))
                stop.wait(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        # traffic goes on during the rebuild: the new generation must not lose what arrives meanwhile
        # (the same shop as the first batch, going on: its events 1500 to 2099, now and for 30 s; plain
        # generator events, since traffic()'s crafted ones are checked once)
        stream = EventStream(
            41, start=datetime.now(UTC) - timedelta(seconds=75), rate=20.0, users=300, products=60
        )
        meanwhile = list(apply_faults(islice(stream, 1500, 2100), FaultShares(), seed=42))
        sender = threading.Thread(target=send_all, args=(settings, topics.EVENTS, meanwhile, 20))
        sender.start()
        try:
            # The command as a user runs it, in a process of its own: submitted through this test
            # session's shared PyFlink client, it once failed in Calcite's planner
            # (NullPointerException: metadataHandlerProvider, state Calcite keeps per thread). Each
            # wait within 300 s, so a step that hangs says which, within the test's 600 s.
            rebuilt = subprocess.run(
                [RTA, "backfill", "--timeout", "300"],
                env={
                    **os.environ,
                    "RTA_PORT_OFFSET": str(settings.port_offset),
                    "RTA_RUN_DIR": str(settings.run_dir),
                    "COLUMNS": "200",
                },
                capture_output=True,
                text=True,
                timeout=540,
            )
        finally:
            sender.join()
            stop.set()
            watcher.join()

        print(f"\n{rebuilt.stdout}{rebuilt.stderr}{len(seen)} answers while it ran")
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "serving generation 0; building generation 1" in rebuilt.stdout
        assert "generation 1 served" in rebuilt.stdout
        assert provision.serving(settings) == Generation(1)
        after = expected(settled_records(settings, topics.EVENTS), settings)
        assert len(after.accepted) > len(before.accepted)
        assert_pinot_serves(settings, _tables(Generation(1)), after)
        assert_api_serves(client, after)

    # Every answer came whole from one generation, and once the switch happened never from the old one.
    assert all(status == 200 for status, _, _ in seen), {s for s, _, _ in seen}
    sources = [source for _, source, _ in seen]
    switched = sources.index("events_g1")
    assert switched > 0
    assert set(sources[:switched]) == {"events"}
    assert set(sources[switched:]) == {"events_g1"}

    # generation 0 is gone: its job, its tables, its topics; the raw topic stays
    with FlinkRest(settings) as rest:
        states = {j["state"] for j in rest.jobs() if j["name"] == JOB_NAME}
    assert states <= {"CANCELED"}
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        names = set(admin.list_topics())
    finally:
        admin.close()
    assert topics.EVENTS in names
    assert not {d.topic for d in DATASETS} & names
    assert {Generation(1).topic(d.topic) for d in DATASETS} <= names


def _rta(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """An `rta` command as a user runs it, in a process of its own, against the test stack."""
    return subprocess.run([RTA, *args], env=_env(settings), capture_output=True, text=True, timeout=540)


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "RTA_PORT_OFFSET": str(settings.port_offset),
        "RTA_RUN_DIR": str(settings.run_dir),
        "COLUMNS": "200",
    }


def _rta_during(
    settings: Settings, args: list[str], after: str, meanwhile: Callable[[], object]
) -> subprocess.CompletedProcess[str]:
    """`rta *args` as a user runs it, with `meanwhile` called once a line of its output holds `after`;
    the command goes on meanwhile. Its output and errors come back together, as `stdout`."""
    with subprocess.Popen(
        [RTA, *args],
        env={**_env(settings), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        lines = []
        for line in proc.stdout or ():
            lines.append(line)
            if after in line:
                meanwhile()
        proc.wait(timeout=540)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), "")


def _minute_row(window_start_ms: int, events: int) -> ActiveUsersMinute:
    return ActiveUsersMinute.model_validate(
        {
            "window_start": window_start_ms,
            "window_end": window_start_ms + 60_000,
            "active_users": 1,
            "sessions": 1,
            "events": events,
        }
    )


def _plant(settings: Settings, topic: str, row: ActiveUsersMinute) -> None:
    """A row written straight into a served output topic, as the job would write it (JSON key and value),
    which no event computes: where it ends up after the rebuild shows which rows were carried over."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        value = orjson.loads(row.model_dump_json())
        key = orjson.dumps({"window_start": value["window_start"]})
        producer.send(topic, key=key, value=orjson.dumps(value)).get(timeout=30)
    finally:
        producer.close()


def _stream(seed: int, start: datetime, count: int, users: str) -> list[Outgoing]:
    """Plain generator events from `start` at 10 a second, each with its event time as record timestamp,
    by users of their own (`users` + the generator's id: one user's events are never further apart
    than the visits' horizon, docs/pipeline.md "Visits") and products of their own (another seed's
    catalogue names the same product ids otherwise)."""
    events = EventStream(seed, start=start, rate=10.0, users=200, products=40)
    out = []
    for o in apply_faults(islice(events, count), FaultShares(), seed=seed):
        value = orjson.loads(o.value)
        value["user_id"] = f"{users}{value['user_id']}"
        if "product_id" in value:  # each seed names its catalogue's products its own way
            value["product_id"] = f"{users}{value['product_id']}"
        out.append(replace(o, value=orjson.dumps(value)))
    return out


def _event_id(value: bytes | None) -> object:
    """The event_id of a raw record's payload, or None (the test traffic has malformed records too)."""
    try:
        payload = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return payload.get("event_id") if isinstance(payload, dict) else None


def test_backfill_from_a_time_rebuilds_the_rows_after_it_and_carries_the_older_ones(
    settings: Settings, cleanup: None
) -> None:
    first = provision.provision(settings)
    assert first is not None
    now = datetime.now(UTC)
    since = now - timedelta(seconds=settings.max_lateness_s + 300)
    # an hour before --from (record timestamps then: history the served job took in live), a batch
    # straddling it (sessions, visits and windows that began before it and end after), and now
    send_all(settings, topics.EVENTS, _stream(61, since - timedelta(hours=1), 600, "old-"), rate=1000)
    send_all(settings, topics.EVENTS, _stream(62, since - timedelta(seconds=60), 1200, "mid-"), rate=1000)
    send_all(settings, topics.EVENTS, traffic(now - timedelta(seconds=150), 1500, seed=41), rate=1500)
    want = expected(settled_records(settings, topics.EVENTS), settings)
    assert_pinot_serves(settings, _tables(Generation(0)), want)

    # Rows no event computes, in the served minutes: one a day before --from (carried over: kept) and
    # one a day after it (rebuilt: gone).
    t1 = to_epoch_millis(since)
    old, new = t1 - t1 % 60_000 - 86_400_000, t1 - t1 % 60_000 + 86_400_000
    _plant(settings, ACTIVE_USERS.topic, _minute_row(old, 777))
    _plant(settings, ACTIVE_USERS.topic, _minute_row(new, 888))

    # History keeps arriving for times before --from (record timestamps then, as `rta-load` and a
    # generator catching up send it): none of it may be lost, whichever side of the cut it lands on.
    # Its first half is taken in by generation 0 before the command starts, so it is before the cut
    # (the cut is generation 0's committed offsets, which only grow); the second half is sent once the
    # command says it takes the cut, so it is after it, while the new generation is built.
    late = _stream(63, since - timedelta(minutes=30), 300, "late-")
    send_all(settings, topics.EVENTS, late[:150], rate=50)
    ends = backfill.raw_end_offsets(settings)
    served_group = recovery.load_spec(settings, Generation(0).job_name).group_id
    poll_until(
        lambda: backfill.committed_offsets(settings, served_group),
        lambda committed: backfill.reached(committed, ends),
        timeout_s=120,
        what="generation 0 committing the first half of the late history",
    )
    rebuilt = _rta_during(
        settings,
        ["backfill", "--from", since.isoformat(), "--timeout", "300"],
        after="the cut:",
        meanwhile=lambda: send_all(settings, topics.EVENTS, late[150:], rate=20),
    )
    print(f"\n{rebuilt.stdout}{rebuilt.stderr}")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "copied generation 0's rows from before --from" in rebuilt.stdout
    assert provision.serving(settings) == Generation(1)
    spec = recovery.load_spec(settings, Generation(1).job_name)
    assert spec.since is not None
    assert spec.since.t1_ms == t1

    # Generation 1 serves the oracle's numbers over the whole raw topic, nothing counted twice or lost
    # on either side of --from or of the cut, and the planted row from before --from, carried over as
    # it was served.
    records = settled_records(settings, topics.EVENTS)
    after = expected(records, settings)
    # the history sent meanwhile landed on both sides of the cut: some rows carried, some rebuilt
    cut = dict(spec.since.cut)
    late_ids = {orjson.loads(o.value)["event_id"] for o in late}
    sides = {r.offset >= cut.get(r.partition, 0) for r in records if _event_id(r.value) in late_ids}
    assert sides == {False, True}, sides
    carried = replace(
        after, active_users=sorted([*after.active_users, _minute_row(old, 777)], key=lambda r: r.window_start)
    )
    assert_pinot_serves(settings, _tables(Generation(1)), carried)
    with TestClient(create_app(settings)) as client:
        assert_api_serves(client, after)

    # The rebuilt job restarts from its checkpoint like any other once generation 0 is gone: no source
    # of it reads generation 0's topics.
    record = recovery.read_record(settings, Generation(1).job_name)
    assert record is not None
    with FlinkRest(settings) as rest:
        rest.cancel(record["job_id"])
    assert provision.wait_for_state(settings, record["job_id"], TERMINAL_STATES, 120) == "CANCELED"
    assert provision.ensure_pipeline(settings, Generation(1).job_name).action == "resumed"

    # A --from less than the lateness bound in the past is refused, and nothing changes.
    refused = _rta(settings, "backfill", "--from", (now - timedelta(minutes=5)).isoformat())
    assert refused.returncode == 1
    assert "at least RTA_MAX_LATENESS_S" in refused.stderr
    assert provision.serving(settings) == Generation(1)
