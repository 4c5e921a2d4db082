"""Builders for the end-to-end tests: a pipeline on fresh topics and tables, traffic with faults, and
the comparison of everything Pinot serves with the oracle (tests/support/oracle.py)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

import orjson
from kafka import KafkaConsumer, TopicPartition
from pydantic import BaseModel

from core.datasets import DATASETS
from core.dimensions import CustomerInfo, ProductInfo
from core.events import to_epoch_millis
from core.metrics import ActiveUsersSliding, MetricRow, ReferrerWindow, UserDay, Visit
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.dimensions import kafka_record, snapshot
from event_generator.faults import Fault, FaultShares, Outgoing, apply_faults
from event_generator.producer import make_producer, send
from flink_jobs.pipeline import Topics, submit_pipeline
from flink_jobs.runner import FlinkRest
from provisioning import pinot_tables
from query import pinot as q
from tests.support.builders import consume, new_topic, unique
from tests.support.oracle import Dimensions, Expected, RawRecord, expected
from tests.support.polling import poll_until
from tests.vectors import referrer_vectors

# Hand-made rejects beside the generator's own malformed events: one per rule of the wire contract.
CRAFTED_REJECTS = [b"", b"[]", b"null", b'{"event_type": "page_view"']


@dataclass(frozen=True)
class RunningPipeline:
    topics: Topics
    tables: dict[str, str]  # dataset name -> Pinot table
    job_id: str
    job_name: str  # also the Kafka consumer group of its source


@contextmanager
def running_pipeline(
    settings: Settings, prefix: str, raw_topic_config: dict[str, str] | None = None
) -> Iterator[RunningPipeline]:
    """The pipeline job on fresh topics, feeding fresh Pinot tables; cancelled and dropped afterwards."""
    where = Topics(
        **{
            name: new_topic(
                settings, f"{prefix}_{name}", config=raw_topic_config if name == "raw_events" else None
            )
            for name in Topics.__dataclass_fields__
        }
    )
    tables = {d.name: unique(f"{prefix}_{d.name}") for d in DATASETS}
    for d in DATASETS:
        definition = pinot_tables.with_overrides(
            pinot_tables.load(d.name), settings, table_name=tables[d.name], topic=where.for_dataset(d)
        )
        pinot_tables.create(definition, settings)
    job_name = unique(f"{prefix}_pipeline")
    job_id = submit_pipeline(settings, where, job_name=job_name)
    try:
        with FlinkRest(settings) as rest:
            poll_until(lambda: rest.state(job_id), lambda s: s == "RUNNING", timeout_s=90, what="job RUNNING")
        yield RunningPipeline(where, tables, job_id, job_name)
    finally:
        with FlinkRest(settings) as rest:
            rest.cancel(job_id)
        pinot_tables.drop_all(tables.values(), settings)


def _mutated(event: dict[str, object], **changes: object) -> bytes:
    return orjson.dumps({**event, **changes})


def _edge_accepted(template: dict[str, object]) -> list[bytes]:
    """Valid purchases (fresh event_ids) whose wire form stretches the parser: each must be accepted."""
    quantity = template["quantity"]
    assert isinstance(quantity, int)
    whole = _mutated(template, event_id=f"{template['event_id']}-int", price=12, total_amount=12 * quantity)
    escaped = _mutated(template, event_id=f"{template['event_id']}-esc").replace(
        b'"user_id":"', b'"user_id":"\\u00e9\\"', 1
    )
    repeated = _mutated(template, event_id=f"{template['event_id']}-rep").replace(
        b'"quantity":', b'"quantity":"two","quantity":', 1
    )
    foreign = _mutated(template, event_id=f"{template['event_id']}-foreign", page_url=5, time_spent="x")
    return [whole, escaped, repeated, foreign, *_odd_referrers(template), *_landing_pages(template)]


def _page_view(template: dict[str, object], **fields: object) -> bytes:
    view = {
        k: template[k]
        for k in ("event_timestamp", "user_id", "session_id", "device_type", "os", "browser", "location")
    }
    return orjson.dumps({**view, "event_type": "page_view", "time_spent": 3.5, **fields})


def _landing_pages(template: dict[str, object]) -> list[bytes]:
    """Two sessions whose landing page (core.metrics.SessionSummary) takes the rule's edges: a tie in
    time broken by code point (UTF-16 order would pick the emoji), and a page view that arrives after
    another but happened a second before it, so it must take over as the landing page."""
    at = template["event_timestamp"]
    assert isinstance(at, int)
    tie, late = f"{template['session_id']}-tie", f"{template['session_id']}-late"
    eid = template["event_id"]
    return [
        _page_view(template, event_id=f"{eid}-tie1", session_id=tie, page_url="/\U0001f600"),
        _page_view(template, event_id=f"{eid}-tie2", session_id=tie, page_url="/\uff5e"),
        _page_view(template, event_id=f"{eid}-late1", session_id=late, page_url="/a"),
        _page_view(
            template, event_id=f"{eid}-late2", session_id=late, page_url="/b", event_timestamp=at - 1000
        ),
    ]


def _odd_referrers(template: dict[str, object]) -> list[bytes]:
    """Valid page views whose referrers take every branch of the host rule (core/referrers.py): the
    served hosts, from Flink's REGEXP_EXTRACT, must equal the oracle's, from Python's re."""
    urls = [line["referrer_url"] for line in referrer_vectors()]
    return [
        _page_view(template, event_id=f"{template['event_id']}-ref{i}", page_url="/", referrer_url=url)
        for i, url in enumerate(urls)
    ]


TRAFFIC_SEED, TRAFFIC_RATE = 11, 50.0


def traffic(start: datetime, count: int, seed: int = TRAFFIC_SEED) -> list[Outgoing]:
    """Generator events with out-of-order, late, duplicate and malformed shares, plus crafted rejects."""
    stream = EventStream(seed, start=start, rate=TRAFFIC_RATE, users=300, products=60)
    shares = FaultShares(out_of_order=0.03, late=0.02, duplicate=0.03, malformed=0.02)
    outgoing = list(apply_faults(islice(stream, count), shares, seed=seed))
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
        _mutated(template, device_type=True),  # boolean as a string
        _mutated(template, product_id={"id": template["product_id"]}),  # object as a string
        orjson.dumps(template) + b" x",  # trailing garbage after the object
        orjson.dumps(template).replace(b'"price":', b'"price":1e400,"price_":', 1),  # beyond a double
        *_edge_accepted(template),
    ]
    middle = count // 2
    return [
        *outgoing[:middle],
        *(Outgoing(b"crafted", c, Fault.MALFORMED) for c in crafted),
        *outgoing[middle:],
    ]


def midnight_visits(midnight: datetime) -> list[Outgoing]:
    """A new user's page views a second before, at, and a second after `midnight` (a business day's
    start), in one session: the running day totals must count the user on both days, once each."""
    at = to_epoch_millis(midnight)
    template: dict[str, object] = {
        "event_timestamp": at,
        "user_id": f"u-midnight-{at}",
        "session_id": f"s-midnight-{at}",
        "device_type": "desktop",
        "os": "Linux",
        "browser": "Firefox",
        "location": "Reykjavik",
    }
    return [
        Outgoing(f"s-midnight-{at}".encode(), _page_view(template, **fields), Fault.NONE)
        for fields in (
            {"event_id": f"e-midnight-{at}-before", "event_timestamp": at - 1000, "page_url": "/late-night"},
            {"event_id": f"e-midnight-{at}-at", "page_url": "/midnight"},
            {"event_id": f"e-midnight-{at}-after", "event_timestamp": at + 1000, "page_url": "/early"},
        )
    ]


def visit_edges(now: datetime) -> list[Outgoing]:
    """One user's events sent in an order that makes a session window merge and grow backwards, with
    minutes before `now`: visits at -105 and -55 (50 apart); -80 joins them (25 from each); -112 moves
    the start 7 minutes earlier; -25 is exactly the gap after -55, so a visit of its own (a bounce).
    Served: two live visits ([-112, -55] with 4 events, 3 page views; [-25]) and two superseded rows."""
    at = to_epoch_millis(now)
    user, session = f"u-visits-{at}", f"s-visits-{at}"
    template: dict[str, object] = {
        "event_timestamp": at,
        "user_id": user,
        "session_id": session,
        "device_type": "mobile",
        "os": "Android",
        "browser": "Chrome",
        "location": "Lagos",
    }
    minutes = [(-105, "page_view"), (-55, "page_view"), (-80, "page_view"), (-112, "product_view")]
    minutes.append((-25, "page_view"))
    out = []
    for i, (minute, kind) in enumerate(minutes):
        fields: dict[str, object] = {
            "event_id": f"e-visits-{at}-{i}",
            "event_timestamp": at + minute * 60_000,
        }
        if kind == "page_view":
            value = _page_view(template, page_url=f"/visit/{i}", **fields)
        else:
            value = orjson.dumps(
                {
                    **template,
                    **fields,
                    "event_type": "product_view",
                    "product_id": "p-visits",
                    "product_name": "Visit probe",
                    "product_category": "probes",
                    "price": 1.0,
                }
            )
        out.append(Outgoing(session.encode(), value, Fault.NONE))
    return out


def send_dimensions(settings: Settings, where: Topics, dims: Dimensions) -> None:
    """The dimension versions to the job's dimension topics, in order (keyed by id, as the generator)."""
    producer = make_producer(settings)
    try:
        rows: list[tuple[str, ProductInfo | CustomerInfo]] = [
            *((where.dim_products, p) for p in dims.products),
            *((where.dim_customers, c) for c in dims.customers),
        ]
        for topic, row in rows:
            key, value = kafka_record(row)
            producer.send(topic, key=key, value=value).get(timeout=30)
    finally:
        producer.close()


def traffic_dimensions(start: datetime, mover_moves: datetime) -> tuple[Dimensions, list[Outgoing]]:
    """The catalogue and customers of `traffic(start, ...)`'s world as of an hour before it, plus a
    customer who moves at `mover_moves`; and that customer's two purchases, 10 s before and after the
    move, to send after everything else (so neither is late). Served: the first under the old state,
    the second under the new one."""
    stream = EventStream(TRAFFIC_SEED, start=start, rate=TRAFFIC_RATE, users=300, products=60)
    products, customers = snapshot(stream.catalog, stream.users, start - timedelta(hours=1))
    at = to_epoch_millis(mover_moves)
    mover = f"u-mover-{at}"
    before = CustomerInfo(
        user_id=mover,
        state="ZZ-AN",
        country="ZZ",
        signup_time=start - timedelta(days=3),
        updated_at=start - timedelta(hours=1),
    )
    after = before.model_copy(update={"state": "ZZ-BE", "updated_at": mover_moves})
    product = stream.catalog[0]
    purchases = [
        orjson.dumps(
            {
                "event_id": f"e-mover-{at}-{i}",
                "event_type": "purchase",
                "event_timestamp": at + offset,
                "user_id": mover,
                "session_id": f"s-mover-{at}",
                "device_type": "desktop",
                "os": "Linux",
                "browser": "Firefox",
                "location": "Nowhere, ZZ",
                "product_id": product.product_id,
                "product_name": product.name,
                "product_category": product.category,
                "price": product.price,
                "quantity": 1,
                "order_id": f"o-mover-{at}-{i}",
                "total_amount": product.price,
            }
        )
        for i, offset in enumerate((-10_000, 10_000))
    ]
    sent = [Outgoing(f"s-mover-{at}".encode(), value, Fault.NONE) for value in purchases]
    return Dimensions(products, [*customers, before, after]), sent


def send_all(
    settings: Settings, topic: str, outgoing: list[Outgoing], rate: float, refused_ok: bool = False
) -> int:
    """Send everything at `rate`; returns how many records Kafka refused. `refused_ok`: refusals are
    expected (Kafka is being killed), not a failure: the oracle counts what the raw topic holds."""
    producer = make_producer(settings)
    try:
        report = send(producer, topic, outgoing, rate=rate)
    finally:
        producer.close()
    assert report.sent + report.errors == len(outgoing)
    if not refused_ok:
        assert report.errors == 0
    return report.errors


def raw_records(settings: Settings, topic: str) -> list[RawRecord]:
    """Everything in the raw topic, with the partition, offset and timestamp Kafka gave it."""
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


def settled_records(settings: Settings, topic: str) -> list[RawRecord]:
    """Moves the watermark past every accepted event of the raw `topic`, then returns the whole topic.

    It sends one page view to each partition, `watermark_delay_s` + 1 s after the newest accepted
    event time. A batch test needs it: the enrichment's temporal join emits an event only once the
    watermark passes it, and when every partition goes idle at once the source never advances the
    watermark from the last records alone (docs/pipeline.md, "Enrichment"). Steady traffic does
    the same in production. The page views are ordinary events, in the topic, so the oracle counts them.
    """
    accepted = expected(raw_records(settings, topic), settings).accepted
    newest = max(
        (to_epoch_millis(e.event_timestamp) for e in accepted), default=to_epoch_millis(datetime.now(UTC))
    )
    at = newest + (settings.watermark_delay_s + 1) * 1000
    producer = make_producer(settings)
    try:
        for partition in sorted(producer.partitions_for(topic)):
            tick = {
                "event_id": f"e-tick-{at}-{partition}",
                "event_type": "page_view",
                "event_timestamp": at,
                "user_id": "u-clock",
                "session_id": f"s-tick-{at}-{partition}",
                "device_type": "desktop",
                "os": "Linux",
                "browser": "Firefox",
                "location": "Greenwich, GB",
                "page_url": "/",
                "time_spent": 1.0,
            }
            producer.send(topic, value=orjson.dumps(tick), partition=partition, timestamp_ms=at).get(
                timeout=30
            )
    finally:
        producer.close()
    return raw_records(settings, topic)


def injected_late(sent: list[Outgoing], want: Expected) -> set[str]:
    """event_ids of the accepted events the generator sent late on purpose."""
    accepted = {e.event_id for e in want.accepted}
    ids = {orjson.loads(o.value)["event_id"] for o in sent if o.fault is Fault.LATE}
    return ids & accepted


def assert_topics_exactly_once(settings: Settings, topics: Topics, want: Expected) -> None:
    """Read committed, the output topics hold each accepted event and each dead letter exactly once.

    (Pinot's upserts would hide a doubled metric row; the topics themselves must not have one.)
    """
    events = consume(settings, topics.events, expected=len(want.accepted))
    ids = [r.value["event_id"] for r in events]
    assert len(ids) == len(want.accepted)
    assert set(ids) == {e.event_id for e in want.accepted}
    dead = consume(settings, topics.dead_letters, expected=len(want.dead_letters))
    where = [(r.value["source_partition"], r.value["source_offset"]) for r in dead]
    assert len(where) == len(want.dead_letters)
    assert set(where) == want.dead_letters


def _close(a: BaseModel, b: BaseModel) -> bool:
    for name in type(a).model_fields:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, float) and not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
            return False
        if not isinstance(x, float) and x != y:
            return False
    return True


def _by_key(rows: Sequence[BaseModel]) -> dict[tuple[object, ...], BaseModel]:
    return {tuple(getattr(r, k) for k in getattr(r, "primary_key", ())): r for r in rows}


def same_rows(got: list[BaseModel], want: list[BaseModel]) -> bool:
    """The same rows by primary key, whatever their order: Pinot orders strings by UTF-16 code units,
    Python by code points, so the two disagree on order once text goes beyond the BMP."""
    g, w = _by_key(got), _by_key(want)
    return (
        len(got) == len(want) == len(g) == len(w)
        and g.keys() == w.keys()
        and all(_close(g[k], w[k]) for k in w)
    )


def _table_equals_oracle(
    pinot: q.Pinot, model: type[MetricRow], table: str, want: Sequence[MetricRow], where: str = ""
) -> None:
    """Every row of `table` (`where` it holds) equals the oracle's rows, neither more nor fewer (polled:
    Pinot catches up)."""
    key = ", ".join(model.primary_key)
    try:
        got = poll_until(
            lambda: pinot.typed(model, table, f"{where} ORDER BY {key} LIMIT 100000"),
            lambda got: same_rows(got, want),  # type: ignore[arg-type]
            timeout_s=120,
            what=f"{table} equal to the oracle",
        )
    except AssertionError:
        g, w = _by_key(pinot.typed(model, table, f"ORDER BY {key} LIMIT 100000")), _by_key(want)
        differ = [(g[k], w[k]) for k in g.keys() & w.keys() if not _close(g[k], w[k])]
        raise AssertionError(
            f"{table} differs from the oracle: only served {sorted(g.keys() - w.keys(), key=repr)[:5]}, "
            f"only in the oracle {sorted(w.keys() - g.keys(), key=repr)[:5]}, "
            f"different (served, oracle) {differ[:5]}"
        ) from None
    assert len(got) == len(want)


def assert_pinot_serves(
    settings: Settings, tables: dict[str, str], want: Expected, *, visits: bool = True
) -> None:
    """Every number Pinot serves equals the oracle's: counts exact, sums and averages to 1e-9.

    `visits=False` leaves the visits out, for traffic whose record timestamps put a user's events more
    than the visits' horizon apart in arrival (docs/pipeline.md: such an event starts a visit of its
    own, which the oracle does not model)."""
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
        late = pinot.rows(f"SELECT event_id FROM {tables['events']} WHERE is_late = true LIMIT 100000")
        assert {r["event_id"] for r in late} == want.late

        active = poll_until(
            lambda: q.active_users(pinot, *far, table=tables["active_users"]),
            lambda got: same_rows(got, want.active_users),  # type: ignore[arg-type]
            timeout_s=120,
            what="active users per minute equal to the oracle",
        )
        assert sorted(r.window_start for r in active) == [r.window_start for r in want.active_users]
        _table_equals_oracle(
            pinot, ActiveUsersSliding, tables["active_users_sliding"], want.active_users_sliding
        )
        _table_equals_oracle(pinot, ReferrerWindow, tables["referrer_traffic"], want.referrer_traffic)
        _table_equals_oracle(pinot, UserDay, tables["user_days"], want.user_days)
        if visits:
            _table_equals_oracle(
                pinot, Visit, tables["visits"], want.visits, where="WHERE superseded = false"
            )
            superseded = pinot.typed(Visit, tables["visits"], "WHERE superseded = true LIMIT 100000")
            assert {(r.user_id, r.visit_start) for r in superseded}.isdisjoint(
                (r.user_id, r.visit_start) for r in want.visits
            )
            if any(v.user_id.startswith("u-visits-") for v in want.visits):  # visit_edges() was sent
                crafted = [r for r in superseded if r.user_id.startswith("u-visits-")]
                assert len(crafted) == 2, (
                    crafted
                )  # the visit a late event joined, the one it moved the start of
        wanted = {
            r.event_id: (r.brand, r.customer_state, r.customer_country) for r in want.enriched_product_events
        }

        def served() -> dict[str, tuple[str, str, str]]:
            rows = pinot.rows(
                "SELECT event_id, brand, customer_state, customer_country"
                f" FROM {tables['enriched_product_events']} LIMIT 100000"
            )
            return {r["event_id"]: (r["brand"], r["customer_state"], r["customer_country"]) for r in rows}

        try:
            poll_until(served, lambda got: got == wanted, timeout_s=120, what="the oracle's enrichment")
        except AssertionError:
            got = served()
            differ = [(k, got[k], wanted[k]) for k in got.keys() & wanted.keys() if got[k] != wanted[k]]
            raise AssertionError(
                f"enrichment differs: {len(got.keys() - wanted.keys())} only served, "
                f"{len(wanted.keys() - got.keys())} only in the oracle "
                f"(e.g. {sorted(wanted.keys() - got.keys())[:3]}), {len(differ)} different "
                f"(event, served, oracle), e.g. {differ[:5]}"
            ) from None
        products = poll_until(
            lambda: q.product_metrics(pinot, *far, table=tables["product_metrics"]),
            lambda got: same_rows(got, want.product_metrics),  # type: ignore[arg-type]
            timeout_s=120,
            what="product metrics per minute equal to the oracle",
        )
        assert len(products) == len(want.product_metrics)
        sessions = poll_until(
            lambda: q.sessions(pinot, table=tables["session_metrics"]),
            lambda got: same_rows(got, want.sessions),  # type: ignore[arg-type]
            timeout_s=120,
            what="session summaries equal to the oracle",
        )
        assert len(sessions) == len(want.sessions)
