from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from core.contract import InvalidEvent, parse_event
from core.events import AddToCart, PageView, Purchase

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
        "event_timestamp": 1_700_000_000_000,
        "product_id": "p",
        "product_name": "n",
        "product_category": "c",
        "price": 1.0,
        "quantity": 2,
    }
    assert isinstance(parse_event(orjson.dumps(raw)), AddToCart)


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (b"not json", "not_json", None),
        (orjson.dumps(_purchase(event_type="refund")), "not_allowed", "event_type"),
        (orjson.dumps({k: v for k, v in _purchase().items() if k != "user_id"}), "missing", "user_id"),
        (orjson.dumps(_purchase(quantity="three")), "wrong_type", "quantity"),
        (orjson.dumps(_purchase(total_amount=1.0)), "total_mismatch", "total_amount"),
        (orjson.dumps(_purchase(event_timestamp=True)), "wrong_type", "event_timestamp"),
        (orjson.dumps(_purchase(event_timestamp="2026-01-01")), "bad_format", "event_timestamp"),
        (orjson.dumps(_purchase(event_timestamp=1.7e12)), "wrong_type", "event_timestamp"),
        (orjson.dumps(_purchase(price=-1)), "out_of_range", "price"),
        (orjson.dumps(_purchase(price="12.5")), "wrong_type", "price"),
        (orjson.dumps(_purchase(quantity=2.0)), "wrong_type", "quantity"),
        (orjson.dumps(_purchase(user_id=42)), "wrong_type", "user_id"),
    ],
)
def test_malformed_events_are_rejected_with_a_reason(payload: bytes, code: str, field: str | None) -> None:
    # Types are strict on the wire (the Flink job's Java checker applies the same rule table).
    with pytest.raises(InvalidEvent) as info:
        parse_event(payload)
    assert (info.value.verdict.code, info.value.verdict.field) == (code, field)
    assert info.value.verdict.reason


def test_iso_timestamps_name_the_same_instant_as_epoch_millis() -> None:
    utc = parse_event(orjson.dumps(_purchase(event_timestamp="2023-11-14T22:13:20.123Z")))
    offset = parse_event(orjson.dumps(_purchase(event_timestamp="2023-11-14T23:13:20.123456+01:00")))
    naive = parse_event(orjson.dumps(_purchase(event_timestamp="2023-11-14T23:13:20.123")), "Europe/Paris")
    assert utc.event_timestamp == offset.event_timestamp == naive.event_timestamp
    assert utc.event_timestamp == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)


def test_the_models_refuse_what_the_contract_refuses() -> None:
    # The Pydantic models carry the same constraints the rule table is derived from.
    with pytest.raises(ValueError, match="control character"):
        PageView(**{**COMMON, "os": "a\x00"}, event_timestamp=datetime.now(UTC), page_url="/", time_spent=1.0)
    with pytest.raises(ValueError, match="total_amount"):
        Purchase.model_validate(_purchase(total_amount=60.0))


def test_unknown_and_foreign_fields_are_ignored_so_producers_can_add_fields_first() -> None:
    event = parse_event(orjson.dumps(_purchase(coupon="FREE", page_url="/x")))
    assert isinstance(event, Purchase)
    assert "coupon" not in event.model_dump()
