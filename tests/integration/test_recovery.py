"""Self-healing: kill -9 any one process of the stack while traffic flows; with no command typed, the
supervisor restarts it (a new JobManager resumes the job from ZooKeeper and its latest checkpoint),
and everything served equals the oracle's count of the raw topic: nothing lost, nothing doubled.

Each test measures the time from the kill until the product is whole again: the process back, every
engine ready, the job RUNNING with a checkpoint completed after the kill (its output committed again),
Pinot answering for the test's tables and, for the API, a metrics route answering 200. The times are printed
and kept as junit properties (`recovery_s`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from core.settings import Settings
from flink_jobs.runner import FlinkRest
from query import pinot as q
from stack.apps import API, start_api
from stack.manager import Stack
from tests.support.api_checks import assert_api_serves
from tests.support.e2e import (
    RunningPipeline,
    assert_pinot_serves,
    assert_topics_exactly_once,
    running_pipeline,
    send_all,
    settled_records,
    traffic,
)
from tests.support.oracle import expected
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration

# Every long-running process of the stack (`rta status`), in the order the tests kill them.
PROCESSES = ("flink-taskmanager", "flink-jobmanager", "kafka", "pinot-zookeeper", "pinot", API)


def _committed(settings: Settings, topic: str) -> int:
    """Records of `topic` a read_committed reader can see (the last stable offsets, summed)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, isolation_level="read_committed")
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(parts).values()) if parts else 0
    finally:
        consumer.close()


@contextmanager
def _api_serving(settings: Settings, pipeline: RunningPipeline) -> Iterator[str]:
    """The API as its own supervised process (as `make demo` runs it), serving the test's tables."""
    supervisor = Stack(settings).supervisor
    tables = orjson.dumps(pipeline.tables).decode()
    start_api(settings, supervisor, env={"RTA_API_TABLES": tables})
    try:
        yield settings.api_url
    finally:
        supervisor.stop(API)


def _healed(
    stack: Stack, rest: FlinkRest, pipeline: RunningPipeline, process: str, killed_pid: int, killed_ms: int
) -> Callable[[], str]:
    """What still keeps the product from being whole after the kill ("" once nothing does)."""
    settings = stack.settings

    def missing() -> str:
        try:
            proc = stack.supervisor.find(process)
            if proc is None or proc.pid == killed_pid:
                return f"{process} not restarted yet"
            not_ready = [f"{st.name}: {st.probe.detail}" for st in stack.status() if not st.ready]
            if not_ready:
                return f"not ready: {not_ready}"
            state = rest.state(pipeline.job_id)
            if state != "RUNNING":
                return f"job {state}"
            latest = (rest.checkpoints(pipeline.job_id).get("latest") or {}).get("completed") or {}
            if latest.get("latest_ack_timestamp", 0) <= killed_ms:
                return "no checkpoint completed since the kill"
            with q.Pinot(settings) as pinot:
                q.count(pinot, pipeline.tables["events"])
            if process == API:  # (its /ready looks at the product's job, not this test's)
                r = httpx.get(f"{settings.api_url}/metrics/summary", params={"from": "-1h"}, timeout=5.0)
                if r.status_code != 200:
                    return f"API /metrics/summary {r.status_code}"
        except (httpx.HTTPError, KafkaError, q.PinotError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return ""

    return missing


@pytest.mark.parametrize("process", PROCESSES)
def test_kill_9_heals_with_no_command_and_loses_and_doubles_nothing(
    stack: Stack, settings: Settings, process: str, record_property: Any
) -> None:
    prefix = f"heal_{process.replace('-', '_')}"
    with running_pipeline(settings, prefix) as pipeline, FlinkRest(settings) as rest, ExitStack() as extra:
        api_url = extra.enter_context(_api_serving(settings, pipeline)) if process == API else None
        sent = traffic(datetime.now(UTC) - timedelta(seconds=150), count=6000, seed=31)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # ~24 s; only Kafka's own kill may refuse records (asserted below)
            sending = pool.submit(
                send_all, settings, pipeline.topics.raw_events, sent, 250.0, refused_ok=True
            )
            # Kill once output has been committed (visible to read_committed readers), so committed
            # and open transactions both exist, and while traffic is still being sent.
            poll_until(
                lambda: _committed(settings, pipeline.topics.events),
                lambda n: n >= 100,
                timeout_s=60,
                what="committed output on the accepted-events topic before the kill",
            )
            assert not sending.done(), "traffic finished before the kill: the kill must be mid-stream"
            victim = stack.supervisor.find(process)
            assert victim is not None
            restarts_before = stack.health()[process].restarts
            killed_ms, killed_at = int(time.time() * 1000), time.monotonic()
            os.kill(victim.pid, signal.SIGKILL)  # the process itself, as a crash or the OOM killer would
            poll_until(
                _healed(stack, rest, pipeline, process, victim.pid, killed_ms),
                lambda left: left == "",
                timeout_s=240,
                what=f"the product whole again after kill -9 of {process}, with no command typed",
            )
            recovery_s = time.monotonic() - killed_at
            record_property("recovery_s", round(recovery_s, 1))
            print(f"\nkill -9 {process} -> whole again in {recovery_s:.1f} s")
            refused = sending.result()
        health = stack.health()[process]
        assert health.restarts == restarts_before + 1
        assert health.last_exit is not None
        assert health.last_exit.startswith("killed by SIGKILL")
        if process != "kafka":
            assert refused == 0, f"{refused} records refused while {process} was down"

        want = expected(settled_records(settings, pipeline.topics.raw_events), settings)
        assert len(want.accepted) > 5000
        assert_pinot_serves(settings, pipeline.tables, want)
        assert_topics_exactly_once(settings, pipeline.topics, want)
        if api_url is not None:
            with httpx.Client(base_url=api_url, timeout=30.0) as client:
                assert_api_serves(client, want)
