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
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient

from api.main import create_app
from core import topics
from core.datasets import DATASETS, JOB_NAME
from core.generations import Generation
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, apply_faults
from flink_jobs.runner import FlinkRest
from query.analytics import Tables
from stack import provision
from tests.support.api_checks import assert_api_serves
from tests.support.builders import reset_product_pipeline
from tests.support.e2e import assert_pinot_serves, send_all, settled_records, traffic
from tests.support.oracle import expected

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
