"""`rta topics` / `rta tail` on the real broker: offsets, lag by consumer group, newest records."""

from __future__ import annotations

import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from api.main import create_app
from core.settings import Settings
from query import topics as kafka_topics
from tests.support.builders import new_topic, produce, unique

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

    parts = kafka_topics.describe(settings, prefix=topic)
    assert [p.partition for p in parts] == [0, 1]
    assert sum(p.end for p in parts) == 10
    assert [p.lag[group] for p in parts] == [p.end - 1 for p in parts]


def test_tail_prints_the_newest_records_per_partition(settings: Settings) -> None:
    topic = new_topic(settings, "tail", partitions=1)
    produce(settings, topic, [("k", {"n": i}) for i in range(8)])
    got = list(kafka_topics.tail(settings, topic, last=3, follow=False))
    assert [(r.partition, r.offset, r.key) for r in got] == [(0, 5, "k"), (0, 6, "k"), (0, 7, "k")]
    assert [orjson.loads(r.value)["n"] for r in got] == [5, 6, 7]
    assert all(r.timestamp is not None and r.timestamp > 1_700_000_000_000 for r in got)
    with pytest.raises(ValueError, match="no topic"):
        list(kafka_topics.tail(settings, unique("absent"), last=1, follow=False))


def test_the_api_shows_offsets_lag_and_the_newest_records(settings: Settings) -> None:
    topic = new_topic(settings, "apitopics", partitions=2)
    produce(settings, topic, [(f"k{i}", {"n": i}) for i in range(6)])
    with TestClient(create_app(settings)) as client:
        body = client.get("/kafka/topics").json()
        assert body["bootstrap"] == settings.kafka_bootstrap
        mine = next(t for t in body["data"] if t["topic"] == topic)
        assert [p["partition"] for p in mine["partitions"]] == [0, 1]
        assert sum(p["end_offset"] - p["start_offset"] for p in mine["partitions"]) == 6
        records = client.get(f"/kafka/topics/{topic}/records", params={"last": 2}).json()["data"]
        ends = {p["partition"]: p["end_offset"] for p in mine["partitions"]}
        want = [(p, o) for p in sorted(ends) for o in range(max(0, ends[p] - 2), ends[p])]
        assert [(r["partition"], r["offset"]) for r in records] == want
        assert all(orjson.loads(r["value"])["n"] in range(6) and r["key"].startswith("k") for r in records)
        missing = client.get(f"/kafka/topics/{unique('absent')}/records")
        assert missing.status_code == 404
        assert missing.json()["detail"][0]["loc"] == ["path", "topic"]
