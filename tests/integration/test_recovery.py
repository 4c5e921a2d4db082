"""Fault injection: kill -9 the Flink TaskManager mid-stream; after recovery nothing is lost or doubled.

The job restarts from its last completed checkpoint: Kafka offsets, dedup, late-flag and aggregate state
roll back together, the transactions open at the kill are aborted, and read_committed consumers (Pinot)
never see their records. The served numbers must still equal the oracle's, computed from the raw topic.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from core.settings import Settings
from flink_jobs.runner import FlinkRest
from stack.manager import Stack
from tests.integration.e2e import (
    assert_pinot_serves,
    assert_topics_exactly_once,
    raw_records,
    running_pipeline,
    send_all,
    traffic,
)
from tests.support.oracle import expected
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration


def _recovered(stats: dict[str, Any]) -> bool:
    """Restored from a checkpoint, and a new checkpoint completed since (the job runs and commits again)."""
    restored = (stats.get("latest") or {}).get("restored")
    completed = (stats.get("latest") or {}).get("completed")
    return bool(restored and completed and completed["id"] > restored["id"])


def _committed(settings: Settings, topic: str) -> int:
    """Records of `topic` a read_committed reader can see (the last stable offsets, summed)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, isolation_level="read_committed")
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum(consumer.end_offsets(parts).values()) if parts else 0
    finally:
        consumer.close()


def test_taskmanager_kill_loses_and_doubles_nothing(
    stack: Stack, settings: Settings, record_property: Any
) -> None:
    with running_pipeline(settings, "kill") as pipeline, FlinkRest(settings) as rest:
        start = datetime.now(UTC) - timedelta(seconds=150)
        sent = traffic(start, count=9000, seed=23)
        with ThreadPoolExecutor(max_workers=1) as pool:
            sending = pool.submit(send_all, settings, pipeline.topics.raw_events, sent, 300.0)  # ~30 s
            # Kill only once output has been committed (visible to read_committed readers), so both
            # committed and open transactions exist, and while traffic is still being sent.
            poll_until(
                lambda: _committed(settings, pipeline.topics.events),
                lambda n: n >= 100,
                timeout_s=60,
                what="committed output on the accepted-events topic before the kill",
            )
            assert not sending.done(), "traffic finished before the kill: the kill must be mid-stream"
            killed_at = time.monotonic()
            assert stack.kill("flink-taskmanager")
            stack.up(["flink"])  # a fresh TaskManager; the job restarts on its slots
            stats = poll_until(
                lambda: rest.checkpoints(pipeline.job_id),
                _recovered,
                timeout_s=240,
                what="the job restored from a checkpoint and checkpointing again",
            )
            recovery_s = time.monotonic() - killed_at
            record_property("recovery_s", round(recovery_s, 1))
            print(f"\nTaskManager kill -9 -> restored and checkpointing again: {recovery_s:.1f} s")
            sending.result()
        assert stats["counts"]["restored"] >= 1
        assert rest.state(pipeline.job_id) == "RUNNING"

        want = expected(raw_records(settings, pipeline.topics.raw_events), settings)
        assert len(want.accepted) > 8000
        assert_pinot_serves(settings, pipeline.tables, want)
        assert_topics_exactly_once(settings, pipeline.topics, want)
