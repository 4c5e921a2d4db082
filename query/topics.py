"""Look into Kafka without Kafka UI: topics with partitions, offsets and consumer lag; the newest records.

What `rta topics` / `rta tail` print and the dashboard's topics view shows."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

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


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    timestamp: int | None  # epoch ms
    key: str | None
    value: str  # pretty-printed when JSON


def _record(m: ConsumerRecord) -> Record:
    key = None if m.key is None else m.key.decode("utf-8", errors="replace")
    timestamp = m.timestamp if m.timestamp is not None and m.timestamp >= 0 else None
    return Record(m.partition, m.offset, timestamp, key, _pretty(m.value))


def tail(
    settings: Settings, topic: str, last: int, follow: bool, timeout_s: float | None = None
) -> Iterator[Record]:
    """The last `last` committed records of each partition (by partition, then offset), then new ones as
    they come with `follow`. Raises ValueError for a topic that does not exist, and TimeoutError when the
    newest records are not read within `timeout_s` (a broker gone mid-read)."""
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
        backlog: dict[int, list[Record]] = {tp.partition: [] for tp in parts}
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"the newest records of {topic} were not read within {timeout_s:g} s")
            for records in consumer.poll(timeout_ms=1000).values():
                for m in records:
                    if m.offset < ends[TopicPartition(topic, m.partition)]:
                        backlog[m.partition].append(_record(m))
        for partition in sorted(backlog):
            yield from backlog[partition][-last:] if last else []
        while follow:
            for records in consumer.poll(timeout_ms=1000).values():
                for m in records:
                    yield _record(m)
    finally:
        consumer.close()


class _NotExact(ValueError):
    """Re-printing would change the text: a duplicate key, a number that reads back differently."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _NotExact("duplicate key")
    return out


def _exact_float(text: str) -> float:
    value = float(text)
    if repr(value) != text:  # 1e400, 0.10000000000000000555, 1E5: shown as sent
        raise _NotExact(text)
    return value


def _pretty(value: bytes | None) -> str:
    """The value indented when it is JSON that re-prints exactly (same keys, same numbers); else as sent
    (invalid UTF-8 replaced). A debugging view must never show a value other than the one in the topic."""
    if value is None:
        return "null (tombstone)"
    text = value.decode("utf-8", errors="replace")
    try:
        parsed = json.loads(text, object_pairs_hook=_no_duplicates, parse_float=_exact_float)
        pretty = json.dumps(parsed, indent=2, ensure_ascii=False, allow_nan=False)
        pretty.encode("utf-8")  # an escaped lone surrogate ("\ud800") cannot be shown decoded
        return pretty
    except (ValueError, RecursionError):  # not JSON, not exact, too deep, or not UTF-8 once decoded
        return text


def reachable(settings: Settings, timeout_s: float = 2.0) -> bool:
    """Whether the bootstrap broker accepts a connection (fail fast: the clients retry for half a minute)."""
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except (OSError, ValueError):
        return False
    return True
