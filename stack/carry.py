"""The copy of a rebuild's carried rows (`rta backfill --from T1`, flink_jobs/since.py), in this process.

For each upserted dataset it reads the served generation's output topic from its beginning to `ends`
(the offsets after the rows of the raw records before the cut, `read_committed`), keeps per key the
version Pinot serves (the largest comparison column; of equal ones the later), and writes it into the
new generation's topic, same key and partition, when the rebuild does not own it and it is within its
table's retention. (A Flink batch job would need managed memory for its sort, which the heap backend's
TaskManager does not have.)

It writes at least once, idempotently: a failure fails the rebuild, whose topics are then removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from core.datasets import Dataset
from core.settings import Settings
from flink_jobs.since import owns


@dataclass
class _Kept:
    version: float
    offset: int
    key: bytes | None
    value: bytes


def served_rows(
    settings: Settings, topic: str, ends: dict[int, int], dataset: Dataset
) -> dict[int, list[_Kept]]:
    """Per partition, the version of each key that Pinot serves, from the records before `ends`."""
    assert dataset.version_column is not None
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    out: dict[int, list[_Kept]] = {}
    try:
        for partition, end in sorted(ends.items()):
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            best: dict[bytes | None, _Kept] = {}
            while consumer.position(tp) < end:
                for records in consumer.poll(timeout_ms=1000).values():
                    for r in records:
                        if r.offset >= end or r.value is None:
                            continue
                        version = float(orjson.loads(r.value)[dataset.version_column])
                        seen = best.get(r.key)
                        if seen is None or (version, r.offset) >= (seen.version, seen.offset):
                            best[r.key] = _Kept(version, r.offset, r.key, r.value)
            out[partition] = sorted(best.values(), key=lambda k: k.offset)
    finally:
        consumer.close()
    return out


def copy(
    settings: Settings,
    dataset: Dataset,
    old_topic: str,
    new_topic: str,
    ends: dict[int, int],
    t1_ms: int,
    oldest_ms: int,
) -> int:
    """Copy the carried rows of `dataset`; returns how many were written."""
    rows = served_rows(settings, old_topic, ends, dataset)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    written = 0
    try:
        for partition, kept in rows.items():
            for k in kept:
                row = orjson.loads(k.value)
                if owns(dataset, row, t1_ms, settings.business_time_zone):
                    continue
                if int(row[dataset.time_column]) < oldest_ms:
                    continue
                producer.send(new_topic, key=k.key, value=k.value, partition=partition)
                written += 1
        producer.flush()
    finally:
        producer.close()
    return written
