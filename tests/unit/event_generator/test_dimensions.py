"""The generator's dimension rows: a snapshot of its world, and changes later events follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import orjson

from core.dimensions import CustomerInfo, ProductInfo
from core.events import ProductView, to_epoch_millis
from event_generator.behaviour import EventStream
from event_generator.catalog import BRANDS
from event_generator.dimensions import Changes, kafka_record, snapshot

START = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _stream(seed: int = 5) -> EventStream:
    return EventStream(seed, start=START, rate=100.0, users=50, products=40)


def test_the_snapshot_lists_every_product_and_customer_valid_from_the_given_time() -> None:
    stream = _stream()
    products, customers = snapshot(stream.catalog, stream.users, START - timedelta(hours=1))
    assert [p.product_id for p in products] == [p.product_id for p in stream.catalog]
    assert [c.user_id for c in customers] == [u.user_id for u in stream.users]
    assert {p.updated_at for p in products} == {START - timedelta(hours=1)}
    for p in products:
        assert p.brand in BRANDS[p.category]
        assert 0 <= p.rating <= 5
    for c in customers:
        assert c.state.startswith(f"{c.country}-")
        assert c.signup_time <= c.updated_at


def test_brands_and_states_do_not_change_the_events_of_a_seed() -> None:
    # the attributes come from generators of their own: the event stream of a seed is as it was
    a = [e.model_dump() for e in islice(_stream(9), 300)]
    b = [e.model_dump() for e in islice(_stream(9), 300)]
    assert a == b


def test_a_record_is_keyed_by_its_id_with_times_in_epoch_millis() -> None:
    stream = _stream()
    products, customers = snapshot(stream.catalog, stream.users, START)
    key, value = kafka_record(products[0])
    assert orjson.loads(key) == {"product_id": products[0].product_id}
    body = orjson.loads(value)
    assert body["updated_at"] == to_epoch_millis(START)
    assert ProductInfo.model_validate(body) == products[0]
    key, value = kafka_record(customers[0])
    assert orjson.loads(key) == {"user_id": customers[0].user_id}
    assert CustomerInfo.model_validate(orjson.loads(value)) == customers[0]


def test_a_price_change_is_a_new_version_and_later_purchases_pay_it() -> None:
    stream = _stream()
    changes = Changes(stream, seed=1)
    seen: list[ProductInfo] = []
    while not seen:
        row = changes.next(START)
        if isinstance(row, ProductInfo):
            seen.append(row)
    changed = seen[0]
    assert changed.updated_at == START
    assert {p.product_id: p.price for p in stream.catalog}[changed.product_id] == changed.price
    views = [
        e for e in islice(stream, 20_000) if isinstance(e, ProductView) and e.product_id == changed.product_id
    ]
    assert views  # seed 5: the changed product is viewed
    assert {e.price for e in views} == {changed.price}  # a view shows the catalogue's price of its time
    assert any(isinstance(changes.next(START), CustomerInfo) for _ in range(20))
