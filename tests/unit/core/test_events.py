from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from pydantic import ValidationError

from core.events import AddToCart, PageView, Purchase, parse_event

COMMON = {
    "event_id": "e-1",
    "user_id": "u-1",
    "session_id": "s-1",
    "device_type": "mobile",
    "os": "Android",
    "browser": "Chrome",
    "location": "Lyon, FR",
}


def _purchase(**overrides: object) -> dict[str, object]:
    return {
        **COMMON,
        "event_type": "purchase",
        "event_timestamp": 1_700_000_000_123,
        "product_id": "p-1",
        "product_name": "Lamp",
        "product_category": "home",
        "price": 19.99,
        "quantity": 3,
        "total_amount": 59.97,
        "order_id": "o-1",
        **overrides,
    }


def test_wire_round_trip_is_lossless_and_uses_epoch_millis() -> None:
    event = parse_event(orjson.dumps(_purchase()))
    assert isinstance(event, Purchase)
    assert event.event_timestamp == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    wire = orjson.loads(event.to_json_bytes())
    assert wire["event_timestamp"] == 1_700_000_000_123
    assert parse_event(event.to_json_bytes()) == event


def test_in_memory_timestamps_keep_only_milliseconds() -> None:
    ts = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    view = PageView(**COMMON, event_timestamp=ts, page_url="/", time_spent=1.5)
    assert view.event_timestamp.microsecond == 123000
    assert parse_event(view.to_json_bytes()) == view


def test_discriminator_picks_the_model() -> None:
    raw = {
        **COMMON,
        "event_type": "add_to_cart",
        "event_timestamp": 1,
        "product_id": "p",
        "product_name": "n",
        "product_category": "c",
        "price": 1.0,
        "quantity": 2,
    }
    assert isinstance(parse_event(orjson.dumps(raw)), AddToCart)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", "Invalid JSON"),
        (orjson.dumps(_purchase(event_type="refund")), "does not match any of the expected tags"),
        (orjson.dumps({k: v for k, v in _purchase().items() if k != "user_id"}), "user_id"),
        (orjson.dumps(_purchase(quantity="three")), "quantity"),
        (orjson.dumps(_purchase(total_amount=1.0)), "price x quantity"),
        (orjson.dumps(_purchase(event_timestamp=True)), "event_timestamp"),
        (orjson.dumps(_purchase(event_timestamp="2026-01-01T00:00:00Z")), "integer (epoch milliseconds)"),
        (orjson.dumps(_purchase(event_timestamp=1.7e12)), "integer (epoch milliseconds)"),
        (orjson.dumps(_purchase(price=-1)), "price"),
        (orjson.dumps(_purchase(price="12.5")), "price"),
        (orjson.dumps(_purchase(quantity=2.0)), "quantity"),
        (orjson.dumps(_purchase(user_id=42)), "user_id"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(payload: bytes, reason: str) -> None:
    # Types are strict on the wire (the Flink job's generated SQL checks the same rules).
    with pytest.raises(ValidationError) as info:
        parse_event(payload)
    assert reason in str(info.value)


def test_unknown_and_foreign_fields_are_ignored_so_producers_can_add_fields_first() -> None:
    event = parse_event(orjson.dumps(_purchase(coupon="FREE", page_url="/x")))
    assert isinstance(event, Purchase)
    assert "coupon" not in event.model_dump()
