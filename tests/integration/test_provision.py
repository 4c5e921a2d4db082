"""`rta up` provisioning on the real stack: topics, tables and the pipeline job, idempotent, resumable,
and restartable without its state (`--fresh`) without replaying what was delivered.

This test owns the product's default topic and table names in the test stack (no other test uses them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from kafka import KafkaAdminClient
from pydantic import BaseModel

from api.schemas import (
    ActiveUsersSeries,
    BrandRanking,
    DayToDateSeries,
    DeadLetterPage,
    Funnel,
    LandingPageRanking,
    Meta,
    ProductRanking,
    ProductSeries,
    QualitySeries,
    Readiness,
    ReferrerRanking,
    RegionRanking,
    Retention,
    RevenueSeries,
    SessionPage,
    SlidingActiveUsersSeries,
    Summary,
    VisitsSeries,
)
from core import topics
from core.datasets import DATASETS, JOB_NAME
from core.settings import Settings
from flink_jobs.runner import FlinkRest
from query import topics as kafka_topics
from stack import demo, provision
from stack.apps import start_api
from stack.process import Supervisor
from tests.support import readme
from tests.support.builders import consume, reset_product_pipeline
from tests.support.e2e import raw_records, send_all, traffic
from tests.support.oracle import Expected, expected
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration


@pytest.fixture
def cleanup(settings: Settings) -> Iterator[None]:
    reset_product_pipeline(settings)  # whatever an earlier test or session left under these names
    yield
    reset_product_pipeline(settings)


def _behind(settings: Settings, group: str, topic: str) -> dict[int, int | None]:
    """Records per partition of `topic` past the group's committed offset (None: nothing committed)."""
    partitions = kafka_topics.describe(settings, topic)
    return {p.partition: p.lag.get(group) for p in partitions if p.topic == topic}


def _topic_names(settings: Settings) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_provision_is_idempotent_and_resumes_from_the_last_checkpoint(
    settings: Settings, cleanup: None
) -> None:
    # The state backend a job runs on is the one its record names (the settings' default, the heap,
    # here); RocksDB is opt-in, and the test stack's TaskManager has no managed memory for it.
    assert settings.flink_state_backend == "hashmap"
    first = provision.provision(settings)
    assert first is not None
    assert first.action == "started"
    assert _state_backend(settings, first.job_id) == "HashMapStateBackend"
    # One deduplication and one late flag for all INSERTs (views as Table API views: flink_jobs/runner.py);
    # with SQL-text views the planner made one of each per INSERT that reads them, nine.
    plan = httpx.get(f"{settings.flink_rest_url}/jobs/{first.job_id}/plan").json()["plan"]["nodes"]
    operators = " ".join(node["description"] for node in plan)
    assert [
        len(set(re.findall(rf"\[(\d+)\]:{op}\(", operators))) for op in ("Deduplicate", "OverAggregate")
    ] == [1, 1]
    assert {topics.EVENTS, *(d.topic for d in DATASETS)} <= _topic_names(settings)
    tables = httpx.get(f"{settings.pinot_controller_url}/tables", params={"type": "realtime"}).json()
    assert {f"{d.name}_REALTIME" for d in DATASETS} <= set(tables["tables"])

    again = provision.provision(settings)
    assert again is not None
    assert (again.action, again.job_id) == ("already running", first.job_id)

    send_all(settings, topics.EVENTS, traffic(datetime.now(UTC) - timedelta(seconds=60), 300, seed=5), 1000)
    first_batch = expected(raw_records(settings, topics.EVENTS), settings)
    # Everything committed means a completed checkpoint covers the whole first batch.
    consume(settings, topics.ACCEPTED_EVENTS, expected=len(first_batch.accepted), timeout_s=90)
    _cancel(settings, first.job_id)
    assert provision.latest_checkpoint(settings, first.job_id) is not None

    resumed = provision.provision(settings)
    assert resumed is not None
    assert resumed.action == "resumed"
    assert resumed.restored_from == provision.latest_checkpoint(settings, first.job_id)
    assert _state_backend(settings, resumed.job_id) == "HashMapStateBackend"
    # The resumed job goes on where its checkpoint left off: the second batch is accepted once and the
    # first is not accepted again (a job reading from the start without state would re-accept it).
    both = _another_batch_is_accepted_once_in_all(settings, seed=6, before=len(first_batch.accepted))

    # `--fresh` (an upgraded job graph) drops the state but not the position: the new job goes on from
    # the offsets the last one committed to its group, so nothing before them is delivered again and
    # nothing after them is lost. (Flink commits them after a checkpoint completes, asynchronously, so
    # a job stopped abruptly may leave the last seconds uncommitted: docs/pipeline.md, Restarts.)
    poll_until(
        lambda: _behind(settings, JOB_NAME, topics.EVENTS),
        lambda behind: bool(behind) and all(lag == 0 for lag in behind.values()),
        timeout_s=60,
        what="the job's offset commit",
    )
    _cancel(settings, resumed.job_id)
    upgraded = provision.provision(settings, fresh=True)
    assert upgraded is not None
    assert (upgraded.action, upgraded.restored_from) == ("started", None)
    assert _state_backend(settings, upgraded.job_id) == "HashMapStateBackend"
    _another_batch_is_accepted_once_in_all(settings, seed=7, before=len(both.accepted))

    _readme_examples_answer_with_the_documented_shapes(settings)


def _state_backend(settings: Settings, job_id: str) -> str:
    """The state backend class a running job checkpoints with, as Flink reports it."""
    with FlinkRest(settings) as rest:
        return str(rest.checkpoint_config(job_id)["state_backend"])


def _cancel(settings: Settings, job_id: str) -> None:
    with FlinkRest(settings) as rest:
        rest.cancel(job_id)
        poll_until(lambda: rest.state(job_id), lambda s: s == "CANCELED", timeout_s=60, what="cancel")


def _another_batch_is_accepted_once_in_all(settings: Settings, seed: int, before: int) -> Expected:
    """Send another batch; then the accepted topic holds every event the raw topic should yield, once."""
    send_all(settings, topics.EVENTS, traffic(datetime.now(UTC), 300, seed=seed), 1000)
    want = expected(raw_records(settings, topics.EVENTS), settings)
    assert len(want.accepted) > before
    got = consume(settings, topics.ACCEPTED_EVENTS, expected=len(want.accepted), timeout_s=90)
    ids = [r.value["event_id"] for r in got]
    assert len(ids) == len(want.accepted)
    assert set(ids) == {e.event_id for e in want.accepted}
    return want


SHAPES: dict[str, type[BaseModel]] = {
    "/ready": Readiness,
    "/metrics/active-users": ActiveUsersSeries,
    "/metrics/active-users/sliding": SlidingActiveUsersSeries,
    "/metrics/referrers": ReferrerRanking,
    "/metrics/landing-pages": LandingPageRanking,
    "/metrics/day-to-date": DayToDateSeries,
    "/metrics/visits": VisitsSeries,
    "/metrics/retention": Retention,
    "/metrics/brands": BrandRanking,
    "/metrics/customers/regions": RegionRanking,
    "/metrics/products": ProductRanking,
    "/metrics/products/": ProductSeries,
    "/metrics/sessions": SessionPage,
    "/metrics/revenue": RevenueSeries,
    "/metrics/funnel": Funnel,
    "/metrics/data-quality": QualitySeries,
    "/metrics/summary": Summary,
    "/metrics/dead-letters": DeadLetterPage,
}


def _shape(url: str) -> type[BaseModel]:
    path = httpx.URL(url).path
    return SHAPES["/metrics/products/"] if path.startswith("/metrics/products/") else SHAPES[path]


def _readme_examples_answer_with_the_documented_shapes(settings: Settings) -> None:
    """Every curl line of the README and of `make demo`, run against the API on the provisioned stack."""
    supervisor = Supervisor(settings.run_dir)
    start_api(settings, supervisor)
    try:
        lines = readme.api_curl_lines() + demo.curl_lines(Settings())
        assert len(lines) >= 10
        for line in lines:
            status, body = readme.run_curl(line, settings.api_url)
            assert status == 200, (line, body)
            model = _shape(line.split("'")[1])
            if model is not Readiness:
                readme.assert_shape(body["meta"], Meta)
            readme.assert_shape(body, model)
    finally:
        supervisor.stop("api")
