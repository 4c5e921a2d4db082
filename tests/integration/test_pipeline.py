"""End to end on the real stack: generator -> Kafka -> Flink pipeline -> Kafka -> Pinot, against an oracle.

The oracle (tests/support/oracle.py) recomputes every served number in plain Python from the records in
the raw topic; the pipeline's own output is never used as the expectation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from pydantic import BaseModel

from core.datasets import DATASETS
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults
from event_generator.producer import make_producer, send
from flink_jobs.pipeline import Topics, submit_pipeline
from flink_jobs.runner import FlinkRest
from query import pinot as q
from stack import pinot_tables
from tests.integration.builders import new_topic, unique
from tests.support.oracle import Expected, RawRecord, expected
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration

# Hand-made rejects beside the generator's own malformed events: one per rule of the wire contract.
CRAFTED_REJECTS = [
    b"",
    b"[]",
    b"null",
    b'{"event_type": "page_view"',
]


def _mutated(event: dict[str, object], **changes: object) -> bytes:
    return orjson.dumps({**event, **changes})


def _raw_records(settings: Settings, topic: str) -> list[RawRecord]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    ends = consumer.end_offsets(parts)
    records: list[RawRecord] = []
    while any(consumer.position(tp) < ends[tp] for tp in parts):
        for batch in consumer.poll(timeout_ms=1000).values():
            records.extend(RawRecord(m.partition, m.offset, m.timestamp, m.value) for m in batch)
    consumer.close()
    return records


def _close(a: BaseModel, b: BaseModel) -> bool:
    for name in type(a).model_fields:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
            return False
        if not isinstance(x, float) and x != y:
            return False
    return True


def _same_rows(got: list[BaseModel], want: list[BaseModel]) -> bool:
    return len(got) == len(want) and all(_close(a, b) for a, b in zip(got, want, strict=True))


def _send_traffic(settings: Settings, topic: str, start: datetime, count: int) -> list[Outgoing]:
    stream = EventStream(11, start=start, rate=50.0, users=300, products=60)
    shares = FaultShares(out_of_order=0.03, late=0.02, duplicate=0.03, malformed=0.02)
    outgoing = list(apply_faults(islice(stream, count), shares, seed=11))
    template = orjson.loads(
        next(o.value for o in outgoing if b'"purchase"' in o.value and o.fault is Fault.NONE)
    )
    crafted = [
        *CRAFTED_REJECTS,
        _mutated(template, price=str(template["price"])),  # number as a string
        _mutated(template, quantity=float(template["quantity"])),  # integer as a float
        _mutated(template, user_id=42),  # string as a number
        _mutated(template, event_timestamp=template["event_timestamp"] + 86_400_000),  # a day ahead
        _mutated(template, total_amount=template["total_amount"] + 1),  # total != price x quantity
    ]
    mixed = outgoing[: count // 2] + [Outgoing(b"crafted", c, Fault.MALFORMED) for c in crafted]
    mixed += outgoing[count // 2 :]
    producer = make_producer(settings)
    report = send(producer, topic, mixed, rate=1500)
    producer.close()
    assert report.errors == 0
    return mixed


@pytest.fixture
def pipeline(settings: Settings) -> Iterator[tuple[Topics, dict[str, str], str]]:
    where = Topics(**{name: new_topic(settings, f"e2e_{name}") for name in Topics.__dataclass_fields__})
    tables = {d.name: unique(f"e2e_{d.name}") for d in DATASETS}
    for d in DATASETS:
        definition = pinot_tables.load(d.name)
        pinot_tables.create(
            pinot_tables.with_overrides(
                definition, settings, table_name=tables[d.name], topic=where.for_dataset(d)
            ),
            settings,
        )
    job_name = unique("e2e_pipeline")
    job_id = submit_pipeline(settings, where, job_name=job_name)
    with FlinkRest(settings) as rest:
        poll_until(lambda: rest.state(job_id), lambda s: s == "RUNNING", timeout_s=90, what="job RUNNING")
    yield where, tables, job_id
    with FlinkRest(settings) as rest:
        rest.cancel(job_id)
    for table in tables.values():
        pinot_tables.drop(table, settings)


def test_served_numbers_equal_an_independent_computation(
    settings: Settings, pipeline: tuple[Topics, dict[str, str], str]
) -> None:
    where, tables, _ = pipeline
    start = datetime.now(UTC) - timedelta(seconds=150)  # event time behind the record timestamps
    sent = _send_traffic(settings, where.raw_events, start, count=6000)
    want: Expected = expected(_raw_records(settings, where.raw_events), settings)
    accepted_ids = {e.event_id for e in want.accepted}
    injected_late = {
        i for o in sent if o.fault is Fault.LATE and (i := orjson.loads(o.value)["event_id"]) in accepted_ids
    }
    assert len(want.dead_letters) >= 9  # the crafted rejects, plus the generator's malformed events
    assert len(want.accepted) > 5000

    far = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    with q.Pinot(settings) as pinot:
        poll_until(
            lambda: (q.count(pinot, tables["events"]), q.count(pinot, tables["dead_letters"])),
            lambda n: n == (len(want.accepted), len(want.dead_letters)),
            timeout_s=180,
            what="every accepted event and every dead letter in Pinot",
        )
        dead = pinot.rows(
            f"SELECT source_partition, source_offset FROM {tables['dead_letters']} LIMIT 100000"
        )
        assert {(r["source_partition"], r["source_offset"]) for r in dead} == want.dead_letters

        active = poll_until(
            lambda: q.active_users(pinot, *far, table=tables["active_users"]),
            lambda got: _same_rows(got, want.active_users),  # type: ignore[arg-type]
            timeout_s=120,
            what="active users per minute equal to the oracle",
        )
        assert [r.window_start for r in active] == [r.window_start for r in want.active_users]
        products = poll_until(
            lambda: q.product_metrics(pinot, *far, table=tables["product_metrics"]),
            lambda got: _same_rows(got, want.product_metrics),  # type: ignore[arg-type]
            timeout_s=120,
            what="product metrics per minute equal to the oracle",
        )
        assert len(products) == len(want.product_metrics)
        sessions = poll_until(
            lambda: q.sessions(pinot, table=tables["session_metrics"]),
            lambda got: _same_rows(got, want.sessions),  # type: ignore[arg-type]
            timeout_s=120,
            what="session summaries equal to the oracle",
        )
        assert len(sessions) == len(want.sessions)

        # Late events count in their minute (the injected ones are in the oracle's numbers above) and are
        # flagged: the flag must name exactly the oracle's late events, the injected ones among them.
        late = pinot.rows(f"SELECT event_id FROM {tables['events']} WHERE is_late = true LIMIT 100000")
        assert {r["event_id"] for r in late} == want.late
        assert injected_late
        assert injected_late <= want.late
