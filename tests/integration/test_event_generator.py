from datetime import UTC, datetime
from itertools import islice

from kafka.serializer import DefaultSerializer

from core.contract import parse_event
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, apply_faults
from event_generator.producer import make_producer, send
from tests.support.builders import consume, new_topic


def test_generator_sends_every_event_keyed_by_session(settings: Settings) -> None:
    topic = new_topic(settings, "gen", partitions=3)
    events = islice(EventStream(21, start=datetime(2026, 3, 1, tzinfo=UTC)), 2000)
    outgoing = list(apply_faults(events, FaultShares(), seed=21))

    producer = make_producer(settings)
    report = send(producer, topic, outgoing)
    producer.close()

    assert report.sent == 2000
    assert report.errors == 0
    got = consume(settings, topic, expected=2000, value_deserializer=DefaultSerializer())
    assert sorted(c.value for c in got) == sorted(o.value.decode() for o in outgoing)
    partitions_by_session: dict[str, set[int]] = {}
    for c in got:
        event = parse_event(c.value)
        assert c.key == event.session_id
        partitions_by_session.setdefault(event.session_id, set()).add(c.partition)
    assert all(len(p) == 1 for p in partitions_by_session.values())
