"""Builders for integration tests: fresh topics, producers, consumers, tables. No magic fixtures."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.serializer import DefaultSerializer, JsonSerializer

from core.settings import Settings
from provisioning.topics import ensure_topic
from tests.support.polling import poll_until


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: topics, tables and groups are never shared."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def new_topic(
    settings: Settings, prefix: str = "t", partitions: int = 3, config: dict[str, str] | None = None
) -> str:
    name = unique(prefix)
    ensure_topic(settings, name, partitions=partitions, config=config)
    return name


def json_producer(settings: Settings, **extra: Any) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        key_serializer=DefaultSerializer(),
        value_serializer=JsonSerializer(),
        acks="all",
        **extra,
    )


def produce(settings: Settings, topic: str, records: Iterable[tuple[str, dict[str, Any]]]) -> int:
    producer = json_producer(settings, enable_idempotence=True)
    futures = [producer.send(topic, key=key, value=value) for key, value in records]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()
    return len(futures)


@dataclass(frozen=True)
class Consumed:
    key: str | None
    value: Any
    partition: int
    offset: int


def consume(
    settings: Settings, topic: str, expected: int, timeout_s: float = 60.0, value_deserializer: Any = None
) -> list[Consumed]:
    """Read a topic from the start (read_committed) until `expected` records arrived."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=unique("g"),
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        enable_auto_commit=False,
        key_deserializer=DefaultSerializer(),
        value_deserializer=value_deserializer or JsonSerializer(),
    )
    got: list[Consumed] = []

    def fetch() -> list[Consumed]:
        for batch in consumer.poll(timeout_ms=1000).values():
            got.extend(Consumed(m.key, m.value, m.partition, m.offset) for m in batch)
        return got

    try:
        poll_until(
            fetch,
            lambda g: len(g) >= expected,
            timeout_s=timeout_s,
            what=f"{expected} records on {topic}",
            interval_s=0.0,
        )
        # Anything beyond `expected` would be a duplicate or a stray: read a little longer to notice it.
        extra = consumer.poll(timeout_ms=1500)
        got.extend(Consumed(m.key, m.value, m.partition, m.offset) for b in extra.values() for m in b)
    finally:
        consumer.close()
    return got


def reset_product_pipeline(settings: Settings) -> None:
    """Leave the test stack without the product's own pipeline: no job named ecommerce-pipeline, no
    product tables, topics, consumer group or job record. Tests that use the product's names (`rta up`,
    provisioning) start and end with it, so they pass in any order and on a kept stack
    (RTA_TEST_KEEP_STACK=1)."""
    from kafka.errors import UnknownTopicOrPartitionError

    from core import topics
    from core.datasets import DATASETS, JOB_NAME
    from flink_jobs.runner import TERMINAL_STATES, FlinkRest
    from provisioning import pinot_tables
    from stack import recovery
    from stack.backfill import delete_consumer_group

    with FlinkRest(settings) as rest:
        active = [
            j["jid"] for j in rest.jobs() if j["name"] == JOB_NAME and j["state"] not in TERMINAL_STATES
        ]
        for job_id in active:
            rest.cancel(job_id)
        for job_id in active:
            poll_until(
                lambda j=job_id: rest.state(j), lambda s: s in TERMINAL_STATES, timeout_s=60, what="cancel"
            )
    pinot_tables.drop_all([d.name for d in DATASETS], settings)
    names = [topics.EVENTS, *(d.topic for d in DATASETS)]
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="rta-test-reset")
    try:
        delete_consumer_group(admin, JOB_NAME)
        present = [n for n in names if n in set(admin.list_topics())]
        if present:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(present)
        poll_until(
            lambda: set(admin.list_topics()) & set(names),
            lambda left: not left,
            timeout_s=60,
            what="product topics deleted",
        )
    finally:
        admin.close()
    recovery.record_path(settings, JOB_NAME).unlink(missing_ok=True)
    # what a backfill built (generations 1.. and the serving record naming one): gone too
    from core.generations import Generation, serving_path
    from stack.backfill import remove_generation

    for number in range(1, 4):
        remove_generation(settings, Generation(number))
    serving_path(settings.run_dir).unlink(missing_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def api_server(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """The app in uvicorn on a loopback port (a free one by default), in a thread; stopped afterwards."""
    port = port or free_port()
    # Streams (/metrics/stream) never end by themselves: stop waiting for them after a moment.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api-under-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def health() -> int:
        try:
            return httpx.get(f"{url}/health", timeout=2.0).status_code
        except httpx.HTTPError:
            return 0

    try:
        poll_until(health, lambda status: status == 200, timeout_s=30, what="the API answering /health")
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
