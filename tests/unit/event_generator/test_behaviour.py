from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from core.contract import parse_event
from core.events import AddToCart, BaseEvent, Purchase
from event_generator.behaviour import EventStream

START = datetime(2026, 1, 1, tzinfo=UTC)


def _events(seed: int, n: int, **kw: object) -> list[BaseEvent]:
    return list(islice(EventStream(seed, start=START, **kw), n))  # type: ignore[arg-type]


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_events() -> None:
    a = [e.to_json_bytes() for e in _events(7, 3000)]
    assert a == [e.to_json_bytes() for e in _events(7, 3000)]
    assert a != [e.to_json_bytes() for e in _events(8, 3000)]


def test_event_time_advances_at_the_configured_rate() -> None:
    events = _events(1, 1001, rate=250.0)
    assert events[0].event_timestamp == START
    assert events[-1].event_timestamp == START + timedelta(seconds=4)


@pytest.mark.slow
def test_users_come_back_and_keep_their_device() -> None:
    events = _events(3, 20000, users=300)
    sessions_per_user = defaultdict(set)
    devices = defaultdict(set)
    for e in events:
        sessions_per_user[e.user_id].add(e.session_id)
        devices[e.user_id].add((e.device_type, e.os, e.browser, e.location))
    assert max(len(s) for s in sessions_per_user.values()) >= 5, "some users must return for several sessions"
    assert all(len(d) == 1 for d in devices.values())


@pytest.mark.slow
def test_funnel_purchases_only_what_was_put_in_the_cart() -> None:
    carted: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    bought: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    orders_per_session = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for e in _events(11, 30000):
        counts[e.event_type] += 1
        if isinstance(e, AddToCart):
            carted[e.session_id][e.product_id] += e.quantity
        if isinstance(e, Purchase):
            bought[e.session_id][e.product_id] += e.quantity
            orders_per_session[e.session_id].add(e.order_id)
            assert e.total_amount == round(e.price * e.quantity, 2)
    for session, lines in bought.items():
        for product, quantity in lines.items():
            assert quantity == carted[session][product], "a purchase must buy exactly what was carted"
    assert all(len(o) == 1 for o in orders_per_session.values())
    assert counts["page_view"] > counts["product_view"] > counts["add_to_cart"] > 0
    assert 0 < counts["purchase"] < counts["add_to_cart"] * 1.5


def test_every_generated_event_is_valid_on_the_wire() -> None:
    for e in _events(5, 2000):
        assert parse_event(e.to_json_bytes()) == e
