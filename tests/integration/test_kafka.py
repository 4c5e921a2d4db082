from collections import defaultdict

from kafka import KafkaProducer

from core.settings import Settings
from tests.support.builders import consume, json_producer, new_topic, produce


def test_keyed_messages_round_trip_with_per_key_partition_and_order(settings: Settings) -> None:
    topic = new_topic(settings, "kafka_rt", partitions=3)
    records = [(f"session-{i % 7}", {"n": i}) for i in range(210)]

    produce(settings, topic, records)
    got = consume(settings, topic, expected=len(records))

    assert sorted(c.value["n"] for c in got) == list(range(210))
    partitions_by_key = defaultdict(set)
    order_by_key = defaultdict(list)
    for c in sorted(got, key=lambda c: (c.partition, c.offset)):
        partitions_by_key[c.key].add(c.partition)
        order_by_key[c.key].append(c.value["n"])
    assert len(partitions_by_key) == 7
    assert all(len(p) == 1 for p in partitions_by_key.values()), "one key must map to one partition"
    assert len({next(iter(p)) for p in partitions_by_key.values()}) > 1, (
        "7 keys should spread over partitions"
    )
    for key, ns in order_by_key.items():
        assert ns == sorted(ns), f"order within key {key} must be kept"


def test_aborted_transactions_are_invisible_to_read_committed_consumers(settings: Settings) -> None:
    topic = new_topic(settings, "kafka_tx", partitions=1)
    producer: KafkaProducer = json_producer(settings, transactional_id=f"{topic}-tx")
    producer.init_transactions()
    producer.begin_transaction()
    for i in range(5):
        producer.send(topic, key="k", value={"n": i, "tx": "aborted"})
    producer.abort_transaction()
    producer.begin_transaction()
    for i in range(3):
        producer.send(topic, key="k", value={"n": i, "tx": "committed"})
    producer.commit_transaction()
    producer.close()

    got = consume(settings, topic, expected=3)

    assert [c.value for c in got] == [{"n": i, "tx": "committed"} for i in range(3)]
