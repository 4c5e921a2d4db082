"""Writes event_contract.jsonl: payloads at the edges of the event contract, each with its verdict.

The expectations below are written by hand from the rules (core/contract.py, core/wire.py), never
computed by either checker; timestamps are worked out with the standard library. The file is what
the Python tests, the Java tests (flink_jobs/udf) and the real job read. Run
`python -m tests.vectors.build_event_contract` after adding a vector; a unit test fails when the file
is stale.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

OUT = Path(__file__).with_name("event_contract.jsonl")
T = 1_795_299_068_781  # 2026-11-21T22:11:08.781Z


def ms(dt: datetime) -> int:
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


COMMON: dict[str, Any] = {
    "event_id": "e-1",
    "event_timestamp": T,
    "user_id": "u-1",
    "session_id": "s-1",
    "device_type": "desktop",
    "os": "Linux",
    "browser": "Firefox",
    "location": "Lyon, FR",
}
PAGE = {**COMMON, "event_type": "page_view", "page_url": "/home", "referrer_url": None, "time_spent": 12.5}
VIEW = {
    **COMMON,
    "event_type": "product_view",
    "product_id": "p-1",
    "product_name": "Blue Mug",
    "product_category": "home",
    "price": 19.99,
}
CART = {**VIEW, "event_type": "add_to_cart", "quantity": 2}
BUY = {**VIEW, "event_type": "purchase", "quantity": 3, "total_amount": 59.97, "order_id": "o-1"}

vectors: list[dict[str, Any]] = []


def dumps(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


def add(
    name: str,
    payload: str | bytes | None,
    code: str | None,
    field: str | None = None,
    values: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    v: dict[str, Any] = {"name": name}
    if isinstance(payload, str):
        v["payload"] = payload
    else:
        v["payload_b64"] = None if payload is None else base64.b64encode(payload).decode()
    v.update(extra)
    v["expect"] = {"code": code, "field": field, "values": values or {}}
    vectors.append(v)


def ok(name: str, event: dict[str, Any], values: dict[str, Any] | None = None, **extra: Any) -> None:
    add(name, dumps(event), None, None, values, **extra)


def bad(name: str, event: dict[str, Any], code: str, field: str | None, **extra: Any) -> None:
    add(name, dumps(event), code, field, **extra)


# --- accepted, one per event type, and the spellings the contract allows ---------------------------
ok("page view", PAGE, {"event_timestamp": T, "referrer_url": None, "time_spent": 12.5, "price": None})
ok(
    "page view without referrer",
    {k: v for k, v in PAGE.items() if k != "referrer_url"},
    {"referrer_url": None},
)
ok("page view with empty referrer", {**PAGE, "referrer_url": ""}, {"referrer_url": ""})
ok("product view", VIEW, {"price": 19.99, "quantity": None, "page_url": None})
ok("add to cart", CART, {"quantity": 2})
ok("purchase", BUY, {"total_amount": 59.97, "order_id": "o-1", "quantity": 3})
ok("integer price", {**BUY, "price": 12, "total_amount": 36}, {"price": 12.0, "total_amount": 36.0})
ok("money in doubles: 0.1 x 3 = 0.3", {**BUY, "price": 0.1, "total_amount": 0.3})
ok("total off by half a cent", {**BUY, "price": 0.125, "quantity": 1, "total_amount": 0.12})
ok("free product", {**BUY, "price": 0, "total_amount": 0})
ok("negative zero price", {**BUY, "price": -0.0, "total_amount": -0.0}, {"price": -0.0})
ok("largest price and total", {**BUY, "price": 1_000_000, "quantity": 1000, "total_amount": 1e9})
add(
    "integer minus zero price is the double -0.0",
    dumps(VIEW).replace('"price":19.99', '"price":-0'),
    None,
    None,
    {"price": -0.0},
)
ok("underflow to zero", {**VIEW, "price": 1e-400}, {"price": 0.0})
ok("time spent a whole day", {**PAGE, "time_spent": 86400.0})
ok("escaped text", {**BUY, "user_id": 'é"x\\'}, {"user_id": 'é"x\\'})
add(
    "escaped surrogate pair",
    dumps(VIEW).replace('"Blue Mug"', '"Mug \\ud83d\\ude00"'),
    None,
    None,
    {"product_name": "Mug \U0001f600"},
)
ok("128 emoji are 128 characters", {**VIEW, "product_name": "\U0001f600" * 128})
ok("64-character id", {**BUY, "event_id": "x" * 64})
ok("line separator is text", {**VIEW, "product_name": "a\u2028b"})
add(
    "repeated key keeps the last value",
    dumps(CART).replace('"quantity":2', '"quantity":"two","quantity":2'),
    None,
    None,
    {"quantity": 2},
)
add(
    "repeated event_type keeps the last",
    '{"event_type":"refund",' + dumps(PAGE)[1:],
    None,
    None,
    {"event_type": "page_view"},
)
add(
    "escaped field name",
    dumps(VIEW).replace('"event_id"', '"event_\\u0069d"'),
    None,
    None,
    {"event_id": "e-1"},
)
ok(
    "fields of other event types are ignored",
    {**BUY, "page_url": 5, "time_spent": "x", "referrer_url": [1]},
    {"page_url": None, "time_spent": None},
)
add(
    "unknown fields are ignored",
    dumps({**VIEW, "coupon": {"code": [1, {"x": None}]}, "": 1})[:-1] + ',"n":1e400}',
    None,
)
ok("nested 32 deep", {**VIEW, "deep": json.loads("[" * 31 + "]" * 31)})
ok("a 100-character number elsewhere", {**VIEW, "n": int("9" * 100)})
add("NUL escaped in an unknown field", dumps(VIEW)[:-1] + ',"x":"a\\u0000b"}', None)
add("whitespace around the object", " \t\r\n" + dumps(VIEW) + " \n", None)
ok("quantity 1000", {**CART, "quantity": 1000})

# --- timestamps -----------------------------------------------------------------------------------
ok(
    "ISO with Z",
    {**VIEW, "event_timestamp": "2026-11-29T18:52:03.125Z"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 18, 52, 3, 125000, tzinfo=UTC))},
)
ok(
    "ISO with an offset",
    {**VIEW, "event_timestamp": "2026-11-29T19:52:03+01:00"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 18, 52, 3, tzinfo=UTC))},
)
ok(
    "ISO with a negative offset",
    {**VIEW, "event_timestamp": "2026-11-29T13:22:03.5-05:30"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 18, 52, 3, 500000, tzinfo=UTC))},
)
ok(
    "ISO with -00:00",
    {**VIEW, "event_timestamp": "2026-11-29T18:52:03-00:00"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 18, 52, 3, tzinfo=UTC))},
)
ok(
    "naive ISO with microseconds (the reference producer)",
    {**VIEW, "event_timestamp": "2026-11-29T20:09:04.745207"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 20, 9, 4, 745000, tzinfo=UTC))},
)
ok(
    "nanoseconds are truncated",
    {**VIEW, "event_timestamp": "2026-11-29T20:09:04.999999999Z"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 20, 9, 4, 999000, tzinfo=UTC))},
)
ok(
    "naive ISO in Europe/Paris, winter",
    {**VIEW, "event_timestamp": "2026-11-29T20:09:04"},
    {"event_timestamp": ms(datetime(2026, 11, 29, 19, 9, 4, tzinfo=UTC))},
    naive_zone="Europe/Paris",
)
ok(
    "naive ISO in a DST gap takes the offset before it",
    {**VIEW, "event_timestamp": "2026-03-29T02:30:00"},
    {"event_timestamp": ms(datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=1))))},
    naive_zone="Europe/Paris",
)
ok(
    "naive ISO in a DST overlap takes the earlier instant",
    {**VIEW, "event_timestamp": "2026-10-25T02:30:00"},
    {"event_timestamp": ms(datetime(2026, 10, 25, 2, 30, tzinfo=timezone(timedelta(hours=2))))},
    naive_zone="Europe/Paris",
)
ok(
    "naive ISO in America/New_York",
    {**VIEW, "event_timestamp": "2026-07-04T12:00:00.250"},
    {"event_timestamp": ms(datetime(2026, 7, 4, 12, 0, 0, 250000, tzinfo=ZoneInfo("America/New_York")))},
    naive_zone="America/New_York",
)
ok(
    "ISO on a leap day",
    {**VIEW, "event_timestamp": "2028-02-29T00:00:00Z"},
    {"event_timestamp": ms(datetime(2028, 2, 29, tzinfo=UTC))},
)
ok("earliest instant", {**VIEW, "event_timestamp": 946_684_800_000})
ok("latest instant", {**VIEW, "event_timestamp": 3_155_759_999_999})
ok("latest instant in ISO", {**VIEW, "event_timestamp": "2069-12-31T23:59:59.999Z"})
bad("before 2000", {**VIEW, "event_timestamp": 946_684_799_999}, "out_of_range", "event_timestamp")
bad("2070 or later", {**VIEW, "event_timestamp": 3_155_760_000_000}, "out_of_range", "event_timestamp")
bad(
    "seconds instead of millis", {**VIEW, "event_timestamp": 1_700_000_000}, "out_of_range", "event_timestamp"
)
bad("negative timestamp", {**VIEW, "event_timestamp": -5}, "out_of_range", "event_timestamp")
bad("huge timestamp", {**VIEW, "event_timestamp": 10**30}, "out_of_range", "event_timestamp")
bad(
    "ISO before 2000",
    {**VIEW, "event_timestamp": "1999-12-31T23:59:59.999Z"},
    "out_of_range",
    "event_timestamp",
)
bad(
    "ISO before 2000 by its offset",
    {**VIEW, "event_timestamp": "2000-01-01T00:30:00+01:00"},
    "out_of_range",
    "event_timestamp",
)
bad(
    "ISO year 0000",
    {**VIEW, "event_timestamp": "0000-01-01T00:00:00"},
    "out_of_range",
    "event_timestamp",
    naive_zone="Europe/Paris",
)
bad("float timestamp", {**VIEW, "event_timestamp": 1.795e12}, "wrong_type", "event_timestamp")
bad("boolean timestamp", {**VIEW, "event_timestamp": True}, "wrong_type", "event_timestamp")
bad("null timestamp", {**VIEW, "event_timestamp": None}, "wrong_type", "event_timestamp")
bad("words for a timestamp", {**VIEW, "event_timestamp": "yesterday"}, "bad_format", "event_timestamp")
bad("no such date", {**VIEW, "event_timestamp": "2026-02-30T00:00:00Z"}, "bad_format", "event_timestamp")
bad("not a leap year", {**VIEW, "event_timestamp": "2100-02-29T00:00:00Z"}, "bad_format", "event_timestamp")
bad("hour 24", {**VIEW, "event_timestamp": "2026-11-29T24:00:00Z"}, "bad_format", "event_timestamp")
bad("leap second", {**VIEW, "event_timestamp": "2026-12-31T23:59:60Z"}, "bad_format", "event_timestamp")
bad(
    "space instead of T", {**VIEW, "event_timestamp": "2026-11-29 10:00:00Z"}, "bad_format", "event_timestamp"
)
bad("lower-case z", {**VIEW, "event_timestamp": "2026-11-29T10:00:00z"}, "bad_format", "event_timestamp")
bad(
    "offset beyond 18 hours",
    {**VIEW, "event_timestamp": "2026-11-29T10:00:00+19:00"},
    "bad_format",
    "event_timestamp",
)
bad(
    "offset minutes 60",
    {**VIEW, "event_timestamp": "2026-11-29T10:00:00+01:60"},
    "bad_format",
    "event_timestamp",
)
bad(
    "ten fraction digits",
    {**VIEW, "event_timestamp": "2026-11-29T10:00:00.1234567890Z"},
    "bad_format",
    "event_timestamp",
)
bad("date only", {**VIEW, "event_timestamp": "2026-11-29"}, "bad_format", "event_timestamp")
bad(
    "full-width digits",
    {**VIEW, "event_timestamp": "\uff12\uff10\uff12\uff16-11-29T10:00:00Z"},
    "bad_format",
    "event_timestamp",
)
bad(
    "offset without colon",
    {**VIEW, "event_timestamp": "2026-11-29T10:00:00+0100"},
    "bad_format",
    "event_timestamp",
)

# --- the record timestamp bounds event time --------------------------------------------------------
ok("on time", VIEW, {"event_timestamp": T}, record_timestamp=T)
ok("exactly max lateness behind", VIEW, record_timestamp=T + 3_600_000)
bad("beyond max lateness", VIEW, "outside_lateness", "event_timestamp", record_timestamp=T + 3_600_001)
ok("exactly max future ahead", VIEW, record_timestamp=T - 300_000)
bad("beyond max future", VIEW, "outside_lateness", "event_timestamp", record_timestamp=T - 300_001)
bad("record timestamp zero", VIEW, "outside_lateness", "event_timestamp", record_timestamp=0)
bad(
    "record timestamp at the end of time",
    VIEW,
    "outside_lateness",
    "event_timestamp",
    record_timestamp=9_223_372_036_854_775_807,
)

# --- numbers --------------------------------------------------------------------------------------
bad("the price that stopped the job", {**BUY, "price": 1e308, "total_amount": 1.0}, "out_of_range", "price")
add("price beyond a double", dumps(VIEW).replace('"price":19.99', '"price":1e400'), "out_of_range", "price")
add(
    "price with a huge exponent",
    dumps(VIEW).replace('"price":19.99', '"price":1e999999999999'),
    "out_of_range",
    "price",
)
bad("price 2^53 + 1", {**VIEW, "price": 2**53 + 1}, "out_of_range", "price")
bad("price above a million", {**VIEW, "price": 1_000_000.01}, "out_of_range", "price")
bad("negative price", {**VIEW, "price": -0.01}, "out_of_range", "price")
bad("price as a string", {**VIEW, "price": "12.5"}, "wrong_type", "price")
bad("price as a boolean", {**VIEW, "price": False}, "wrong_type", "price")
bad("price null", {**VIEW, "price": None}, "wrong_type", "price")
bad("total too far from price x quantity", {**BUY, "total_amount": 59.99}, "total_mismatch", "total_amount")
bad("total beyond its range", {**BUY, "total_amount": 1e9 + 1}, "out_of_range", "total_amount")
bad("quantity as a float", {**CART, "quantity": 2.0}, "wrong_type", "quantity")
add(
    "quantity with an exponent",
    dumps(CART).replace('"quantity":2', '"quantity":2e0'),
    "wrong_type",
    "quantity",
)
bad("quantity as a boolean", {**CART, "quantity": True}, "wrong_type", "quantity")
bad("quantity zero", {**CART, "quantity": 0}, "out_of_range", "quantity")
add("quantity minus zero", dumps(CART).replace('"quantity":2', '"quantity":-0'), "out_of_range", "quantity")
bad("quantity 1001", {**CART, "quantity": 1001}, "out_of_range", "quantity")
bad("quantity 2^31", {**CART, "quantity": 2**31}, "out_of_range", "quantity")
bad("quantity 10^30", {**CART, "quantity": 10**30}, "out_of_range", "quantity")
bad("time spent above a day", {**PAGE, "time_spent": 86400.5}, "out_of_range", "time_spent")
add("a 101-character number elsewhere", dumps(VIEW)[:-1] + ',"n":' + "9" * 101 + "}", "not_json", None)

# --- text -----------------------------------------------------------------------------------------
bad("empty id", {**VIEW, "user_id": ""}, "too_short", "user_id")
bad("65-character id", {**VIEW, "user_id": "x" * 65}, "too_long", "user_id")
bad("129 emoji", {**VIEW, "product_name": "\U0001f600" * 129}, "too_long", "product_name")
bad("513-character referrer", {**PAGE, "referrer_url": "r" * 513}, "too_long", "referrer_url")
bad("NUL in an id", {**VIEW, "user_id": "a\u0000b"}, "invalid_text", "user_id")
bad("tab in an id", {**VIEW, "user_id": "a\tb"}, "invalid_text", "user_id")
bad("DEL in an id", {**VIEW, "user_id": "a\u007fb"}, "invalid_text", "user_id")
bad("C1 control in a name", {**VIEW, "product_name": "a\u0085b"}, "invalid_text", "product_name")
bad("control character beats length", {**VIEW, "user_id": "\u0001" * 100}, "invalid_text", "user_id")
add("lone high surrogate", dumps(VIEW).replace('"u-1"', '"u\\ud800"'), "invalid_text", "user_id")
add("lone low surrogate", dumps(VIEW).replace('"u-1"', '"u\\udc00x"'), "invalid_text", "user_id")
add(
    "surrogates in the wrong order",
    dumps(VIEW).replace('"u-1"', '"\\ude00\\ud83d"'),
    "invalid_text",
    "user_id",
)
add("lone surrogate in an unknown field", dumps(VIEW)[:-1] + ',"x":"\\ud800"}', None)
add("raw tab inside a string", dumps(VIEW).replace('"u-1"', '"u\t1"'), "not_json", None)
bad("id as a number", {**VIEW, "user_id": 42}, "wrong_type", "user_id")
bad("id null", {**VIEW, "user_id": None}, "wrong_type", "user_id")
bad("id as an object", {**VIEW, "product_id": {"id": "p-1"}}, "wrong_type", "product_id")
bad("id as an array", {**VIEW, "product_id": ["p-1"]}, "wrong_type", "product_id")
bad("referrer as a number", {**PAGE, "referrer_url": 5}, "wrong_type", "referrer_url")
bad("unknown device", {**VIEW, "device_type": "phone"}, "not_allowed", "device_type")
bad("device in capitals", {**VIEW, "device_type": "Desktop"}, "not_allowed", "device_type")
bad("device as a boolean", {**VIEW, "device_type": True}, "wrong_type", "device_type")

# --- fields present or not ------------------------------------------------------------------------
bad("missing user", {k: v for k, v in VIEW.items() if k != "user_id"}, "missing", "user_id")
bad(
    "first missing field wins",
    {k: v for k, v in VIEW.items() if k not in ("user_id", "event_id")},
    "missing",
    "event_id",
)
bad("missing order id", {k: v for k, v in BUY.items() if k != "order_id"}, "missing", "order_id")
bad("missing quantity", {k: v for k, v in CART.items() if k != "quantity"}, "missing", "quantity")
bad("missing time spent", {k: v for k, v in PAGE.items() if k != "time_spent"}, "missing", "time_spent")
bad("missing event type", {k: v for k, v in VIEW.items() if k != "event_type"}, "missing", "event_type")
bad("unknown event type", {**VIEW, "event_type": "refund"}, "not_allowed", "event_type")
bad("event type as a number", {**VIEW, "event_type": 5}, "wrong_type", "event_type")
bad("event type null", {**VIEW, "event_type": None}, "wrong_type", "event_type")
bad("event type beats other fields", {"event_type": "refund", "user_id": 5}, "not_allowed", "event_type")

# --- the payload ----------------------------------------------------------------------------------
add("null record", None, "empty")
add("empty record", b"", "empty")
add("only whitespace", " ", "not_json")
add("an array", "[]", "not_object")
add("null", "null", "not_object")
add("a number", "1", "not_object")
add("a string", '"x"', "not_object")
add("a malformed array", "[1,", "not_json")
add("truncated object", dumps(VIEW)[:40], "not_json")
add("trailing garbage", dumps(VIEW) + " x", "not_json")
add("two objects", dumps(VIEW) + dumps(VIEW), "not_json")
add("byte order mark", b"\xef\xbb\xbf" + dumps(VIEW).encode(), "not_json")
add("NaN", dumps(VIEW).replace('"price":19.99', '"price":NaN'), "not_json")
add("Infinity", dumps(VIEW).replace('"price":19.99', '"price":Infinity'), "not_json")
add("single quotes", "{'event_type':'page_view'}", "not_json")
add("a comment", "{/* c */}", "not_json")
add("trailing comma", dumps(VIEW)[:-1] + ",}", "not_json")
add("leading zero", dumps(CART).replace('"quantity":2', '"quantity":02'), "not_json")
add("number ending in a point", dumps(CART).replace('"quantity":2', '"quantity":2.'), "not_json")
add("number starting with a point", dumps(VIEW).replace('"price":19.99', '"price":.5'), "not_json")
add("number with a plus", dumps(CART).replace('"quantity":2', '"quantity":+2'), "not_json")
add("nested 33 deep", dumps(VIEW)[:-1] + ',"deep":' + "[" * 32 + "]" * 32 + "}", "not_json")
add(
    "too deep under a key that is repeated later",
    '{"deep":' + "[" * 32 + "]" * 32 + "," + dumps(VIEW)[1:-1] + ',"deep":1}',
    "not_json",
)
add("nested 10000 deep", dumps(VIEW)[:-1] + ',"deep":' + "[" * 10000 + "]" * 10000 + "}", "not_json")
add("invalid UTF-8", b'{"event_type":"page_view","x":"\xff"}', "not_utf8")
add("overlong UTF-8", b'{"x":"\xc0\xaf"}', "not_utf8")
add("UTF-8-encoded surrogate", b'{"x":"\xed\xa0\x80"}', "not_utf8")
add("truncated UTF-8 sequence", b'{"x":"\xe2\x82"}', "not_utf8")
add("UTF-16", '{"event_type":"page_view"}'.encode("utf-16"), "not_utf8")
add("NUL byte after the object", dumps(VIEW).encode() + b"\x00", "not_json")
add("raw DEL is JSON but not text", dumps(VIEW).replace('"u-1"', '"u\x7f1"'), "invalid_text", "user_id")
add("a 60,000-character field name", dumps(VIEW)[:-1] + ',"' + "k" * 60_000 + '":1}', None)
padding = 65_536 - len(dumps({**VIEW, "pad": ""}).encode())
ok("exactly 64 KiB", {**VIEW, "pad": "p" * padding})
bad("one byte beyond 64 KiB", {**VIEW, "pad": "p" * (padding + 1)}, "too_large", None)


def main() -> None:
    names = [v["name"] for v in vectors]
    assert len(names) == len(set(names)), "vector names must be unique"
    OUT.write_text("".join(json.dumps(v, ensure_ascii=True) + "\n" for v in vectors))


if __name__ == "__main__":
    main()
