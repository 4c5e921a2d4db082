"""`rta topics` / `rta tail` on the real broker: offsets, lag by consumer group, newest records."""

from __future__ import annotations

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from core.settings import Settings
from stack import inspect_kafka
from tests.integration.builders import new_topic, produce, unique

pytestmark = pytest.mark.integration


def test_describe_shows_offsets_and_the_lag_of_a_group(settings: Settings) -> None:
    topic = new_topic(settings, "inspect", partitions=2)
    produce(settings, topic, [(f"k{i}", {"n": i}) for i in range(10)])
    group = unique("g")
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    consumer.assign(tps)
    consumer.commit({tp: OffsetAndMetadata(1, "", -1) for tp in tps})  # one record read on each
    consumer.close()

    parts = inspect_kafka.describe(settings, prefix=topic)
    assert [p.partition for p in parts] == [0, 1]
    assert sum(p.end for p in parts) == 10
    assert [p.lag[group] for p in parts] == [p.end - 1 for p in parts]


def test_tail_prints_the_newest_records_per_partition(settings: Settings) -> None:
    topic = new_topic(settings, "tail", partitions=1)
    produce(settings, topic, [("k", {"n": i}) for i in range(8)])
    got = list(inspect_kafka.tail(settings, topic, last=3, follow=False))
    assert [(p, o) for p, o, _ in got] == [(0, 5), (0, 6), (0, 7)]
    assert [orjson.loads(text)["n"] for _, _, text in got] == [5, 6, 7]
    with pytest.raises(ValueError, match="no topic"):
        list(inspect_kafka.tail(settings, unique("absent"), last=1, follow=False))
