"""Look into Kafka without Kafka UI: topics with partitions, offsets and consumer lag; tail a topic."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from core.settings import Settings


@dataclass(frozen=True)
class PartitionInfo:
    topic: str
    partition: int
    start: int
    end: int
    lag: dict[str, int]  # consumer group -> records behind the end (by committed offset)


def describe(settings: Settings, prefix: str = "") -> list[PartitionInfo]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="rta-inspect")
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, client_id="rta-inspect")
    try:
        names = sorted(t for t in admin.list_topics() if t.startswith(prefix) and not t.startswith("__"))
        parts = [TopicPartition(t, p) for t in names for p in sorted(consumer.partitions_for_topic(t) or [])]
        starts, ends = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
        groups = [g["group_id"] for g in admin.list_groups()]
        committed = admin.list_group_offsets(groups) if groups else {}
        return [
            PartitionInfo(
                tp.topic,
                tp.partition,
                starts[tp],
                ends[tp],
                {g: ends[tp] - offs[tp].offset for g, offs in committed.items() if tp in offs},
            )
            for tp in parts
        ]
    finally:
        consumer.close()
        admin.close()


def tail(settings: Settings, topic: str, last: int, follow: bool) -> Iterator[tuple[int, int, str]]:
    """(partition, offset, pretty text) for the last `last` records of each partition, then new ones."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        client_id="rta-tail",
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not parts:
            raise ValueError(f"no topic {topic!r}")
        consumer.assign(parts)
        ends = consumer.end_offsets(parts)
        # Transactional topics interleave commit markers with records: read back further than `last`
        # and keep the newest `last` records of each partition.
        for tp in parts:
            consumer.seek(tp, max(0, ends[tp] - 4 * last - 10))
        backlog: dict[int, list[tuple[int, int, str]]] = {tp.partition: [] for tp in parts}
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for records in consumer.poll(timeout_ms=1000).values():
                for m in records:
                    if m.offset < ends[TopicPartition(topic, m.partition)]:
                        backlog[m.partition].append((m.partition, m.offset, _pretty(m.value)))
        for partition in sorted(backlog):
            yield from backlog[partition][-last:] if last else []
        while follow:
            for records in consumer.poll(timeout_ms=1000).values():
                for m in records:
                    yield m.partition, m.offset, _pretty(m.value)
    finally:
        consumer.close()


def _pretty(value: bytes | None) -> str:
    if value is None:
        return "null (tombstone)"
    try:
        return orjson.dumps(orjson.loads(value), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return value.decode("utf-8", errors="replace")
