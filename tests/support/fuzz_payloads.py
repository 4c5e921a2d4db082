"""Hostile payloads near every edge of the event contract, for the differential fuzz test (through
Hypothesis) and the soak test of the real job (through a seeded random.Random, 100,000 at a time).

A payload starts as a valid event of a random type and then gets a few mutations: a field set to an
edge value of its kind (or of another kind), removed, repeated, or the bytes themselves damaged.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from core import wire

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
EVENT_TIME = 1_795_299_068_781


class Raw(str):
    """A JSON literal written as is (numbers JSON allows but Python would not write, bad escapes...)."""


@dataclass(frozen=True)
class Case:
    payload: bytes | None
    record_timestamp: int | None
    naive_zone: str


STRING_FIELDS = (
    "event_id", "user_id", "session_id", "device_type", "os", "browser", "location", "page_url",
    "referrer_url", "product_id", "product_name", "product_category", "order_id",
)  # fmt: skip
NUMBER_FIELDS = ("price", "quantity", "total_amount", "time_spent")
ALL_FIELDS = ("event_type", "event_timestamp", *STRING_FIELDS, *NUMBER_FIELDS)


def _text(rng: random.Random, length: int) -> str:
    alphabet = rng.choice(
        [
            "abcXYZ019-_ ",
            "éüß漢字Ωж",
            "\U0001f600\U0001f680\U00010348",
            "a\u0301\u200b\u2028\ufeff\ufffd\u00a0",
            "\x00\x01\x1f\x7f\x80\x9f",
        ]
    )
    return "".join(rng.choice(alphabet) for _ in range(length))


def edge_string(rng: random.Random) -> Any:
    lengths = [0, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 511, 512, 513]
    pick = rng.randrange(9)
    if pick == 0:
        return _text(rng, rng.choice(lengths))
    if pick == 1:
        return "x" * rng.choice(lengths)
    if pick == 2:
        return rng.choice(["desktop", "mobile", "tablet", "Desktop", "mobile ", "", "null", "page_view"])
    if pick == 3:  # escapes Python would not write: lone or misordered surrogates, odd escapes
        return Raw(
            rng.choice(
                [
                    '"\\ud800"',
                    '"a\\udc00"',
                    '"\\ude00\\ud83d"',
                    '"\\ud83d\\ude00"',
                    '"\\u0000"',
                    '"\\/\\b\\f"',
                    '"\\x41"',
                    '"\\u12"',
                    '"\t"',
                    '"\u007f"',
                ]
            )
        )
    if pick == 4:
        return "\U0001f600" * rng.choice(lengths)
    if pick == 5:
        return rng.choice([None, True, False, [], {}, ["a"], {"a": "b"}])
    if pick == 6:
        return edge_number(rng)
    if pick == 7:
        return "a" + chr(rng.choice([0x0, 0x9, 0x1F, 0x7F, 0x85, 0x9F, 0xA0, 0x2028, 0xFFFE, 0x10FFFF])) + "b"
    return _text(rng, rng.randrange(0, 8))


def edge_number(rng: random.Random) -> Any:
    pool: list[Any] = [
        0, 1, 2, 3, 999, 1000, 1001, -1, 2**31 - 1, 2**31, 2**53 + 1, 10**30, -(10**30),
        0.0, -0.0, 0.1, 0.3, 0.125, 12.5, 19.99, 86_400, 86_400.0000001, 1e6, 1_000_000.01, 999_999.999,
        1e9, 1e9 + 1, 1e308, 5e-324, -0.01,
        Raw("-0"), Raw("1e400"), Raw("-1e400"), Raw("1e-400"), Raw("2e0"), Raw("1.0"), Raw("100E-2"),
        Raw("1E+3"), Raw("9" * 100), Raw("9" * 101), Raw("0." + "0" * 97 + "1"), Raw("1e999999999999"),
        Raw("01"), Raw("1."), Raw(".5"), Raw("+1"), Raw("NaN"), Raw("-Infinity"), Raw("0x10"),
        True, False, None, "12.5", "3", [], {},
    ]  # fmt: skip
    if rng.random() < 0.2:
        return rng.uniform(-10, 2e6) if rng.random() < 0.5 else rng.randrange(-5, 2000)
    return rng.choice(pool)


def edge_timestamp(rng: random.Random) -> Any:
    pick = rng.randrange(6)
    if pick == 0:
        return rng.choice(
            [
                wire.MIN_EVENT_MILLIS - 1, wire.MIN_EVENT_MILLIS, wire.MAX_EVENT_MILLIS - 1,
                wire.MAX_EVENT_MILLIS, EVENT_TIME, 1_700_000_000, -5, 0, 10**20, 2**63, -(2**63) - 1,
            ]
        )  # fmt: skip
    if pick == 1:
        return rng.choice([1.795e12, Raw("1795299068781.0"), Raw("1.795299068781e12"), True, None, [], "x"])
    if pick == 2:  # near DST changes and the range's ends, in local time
        return rng.choice(
            [
                "2026-03-29T01:59:59.999", "2026-03-29T02:00:00", "2026-03-29T02:30:00",
                "2026-03-29T03:00:00", "2026-10-25T01:59:59", "2026-10-25T02:00:00",
                "2026-10-25T02:59:59.999", "2026-10-25T03:00:00",
                "2026-03-08T02:30:00", "2026-11-01T01:30:00", "2026-04-05T01:45:00", "2026-10-04T02:15:00",
                "1999-12-31T23:30:00", "2000-01-01T00:00:00", "2000-01-01T05:29:59.999",
                "2069-12-31T23:59:59.999", "2070-01-01T00:00:00", "2069-12-31T19:00:00",
            ]
        )  # fmt: skip
    year = rng.choice([0, 1, 1969, 1999, 2000, 2024, 2026, 2028, 2069, 2070, 2100, 9999])
    month = rng.choice([0, 1, 2, 3, 10, 11, 12, 13])
    day = rng.choice([0, 1, 28, 29, 30, 31, 32])
    hour, minute, second = rng.choice([0, 1, 2, 23, 24]), rng.choice([0, 30, 59, 60]), rng.choice([0, 59, 60])
    fraction = rng.choice(["", ".5", ".12", ".123", ".1234", ".123456", ".999999999", ".1234567890", "."])
    offset = rng.choice(["", "", "Z", "z", "+00:00", "-00:00", "+01:00", "-05:30", "+18:00", "+18:01",
                         "-18:00", "+05:45", "+01:60", "+0100", "+1:00"])  # fmt: skip
    sep = rng.choice(["T", "T", "T", "t", " "])
    text = f"{year:04d}-{month:02d}-{day:02d}{sep}{hour:02d}:{minute:02d}:{second:02d}{fraction}{offset}"
    if pick == 5:
        text = text.replace("2", "\uff12", 1) if rng.random() < 0.3 else text[: rng.randrange(len(text) + 1)]
    return text


def _valid_event(rng: random.Random) -> dict[str, Any]:
    event_type = rng.choice(["page_view", "product_view", "add_to_cart", "purchase"])
    e: dict[str, Any] = {
        "event_id": f"e-{rng.randrange(10**9)}",
        "event_type": event_type,
        "event_timestamp": EVENT_TIME + rng.randrange(-10_000, 10_000),
        "user_id": f"u-{rng.randrange(1000)}",
        "session_id": f"s-{rng.randrange(10**6)}",
        "device_type": rng.choice(["desktop", "mobile", "tablet"]),
        "os": rng.choice(["Linux", "iOS", "Android"]),
        "browser": rng.choice(["Firefox", "Safari"]),
        "location": "Lyon, FR",
    }
    if event_type == "page_view":
        e.update(page_url="/p", referrer_url=rng.choice([None, "https://x.example/", ""]), time_spent=3.5)
        if rng.random() < 0.3:
            del e["referrer_url"]
    else:
        price = round(rng.uniform(0, 500), 2)
        e.update(product_id="p-1", product_name="Mug", product_category="home", price=price)
        if event_type != "product_view":
            e["quantity"] = rng.randrange(1, 5)
        if event_type == "purchase":
            e["order_id"] = "o-1"
            e["total_amount"] = round(price * e["quantity"], 2)
    return e


def _mutate(rng: random.Random, e: dict[str, Any], extra: list[tuple[str, Any]]) -> None:
    name = rng.choice([*ALL_FIELDS, "unknown", "total_vs_price"])
    kind = rng.randrange(10)
    if name == "total_vs_price":
        price, quantity = e.get("price", 19.99), e.get("quantity", 3)
        if isinstance(price, int | float) and isinstance(quantity, int | float):
            delta = rng.choice([0, 0.005, 0.01, 0.010000001, -0.01, 0.02, 1e-12, 0.0099999999])
            e["total_amount"] = price * quantity + delta
        return
    if kind == 0:
        e.pop(name, None)
    elif kind == 1:  # the same key twice: the last one counts
        extra.append((name, edge_value(rng, name)))
    elif kind == 2:
        e[name] = edge_value(rng, rng.choice(ALL_FIELDS))  # a value of another field's kind
    else:
        e[name] = edge_value(rng, name)


def edge_value(rng: random.Random, name: str) -> Any:
    if name == "event_timestamp":
        return edge_timestamp(rng)
    if name in NUMBER_FIELDS:
        return edge_number(rng)
    if name == "event_type":
        return rng.choice(["page_view", "purchase", "refund", "", "PAGE_VIEW", None, 5, ["page_view"]])
    if name == "unknown":
        return rng.choice([{"a": [1, {"b": None}]}, Raw("[" * 33 + "]" * 33), Raw("9" * 101), Raw("1e400")])
    return edge_string(rng)


def _literal(value: Any, rng: random.Random, ascii_only: bool) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{json.dumps(k)}:{_literal(v, rng, ascii_only)}" for k, v in value.items()) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_literal(v, rng, ascii_only) for v in value) + "]"
    if isinstance(value, float) and value != value:
        return "NaN"
    return json.dumps(value, ensure_ascii=ascii_only)


def serialize(rng: random.Random, e: dict[str, Any], extra: list[tuple[str, Any]]) -> str:
    ascii_only = rng.random() < 0.3
    items = list(e.items())
    for name, value in extra:  # a repeated key, before or after the first one
        items.insert(rng.randrange(len(items) + 1), (name, value))
    space = rng.choice(["", " ", "\n", "\t", "\r\n  "])
    body = ("," + space).join(f"{json.dumps(k)}:{space}{_literal(v, rng, ascii_only)}" for k, v in items)
    return space + "{" + body + "}" + space


def _damage(rng: random.Random, data: bytes) -> bytes | None:
    pick = rng.randrange(9)
    if pick == 0:
        return data[: rng.randrange(len(data) + 1)]
    if pick == 1:
        at = rng.randrange(len(data) + 1)
        return data[:at] + bytes([rng.choice([0x00, 0x80, 0xC0, 0xED, 0xF5, 0xFF, 0x22, 0x5C])]) + data[at:]
    if pick == 2:
        return b"\xef\xbb\xbf" + data
    if pick == 3:
        return data + rng.choice([b"x", b"{}", b"\x00", b" ", b"\n", b"]"])
    if pick == 4:
        return data.decode("utf-8", "replace").encode("utf-16")
    if pick == 5:
        return rng.choice([None, b"", b" ", b"[]", b"null", b"1", b'"x"', b"{}"])
    if pick == 6:  # padded up to and beyond the size limit
        pad = wire.MAX_PAYLOAD_BYTES - len(data) + rng.choice([-1, 0, 1, 5]) - len(b',"pad":""')
        return data[:-1] + b',"pad":"' + b"p" * max(pad, 0) + b'"}' if data.endswith(b"}") else data
    if pick == 7:
        return b'{"event_type":"page_view","deep":' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    return bytes(b ^ 0x20 if rng.random() < 0.01 else b for b in data)


def hostile(rng: random.Random) -> Case:
    """One generated record: payload, Kafka record timestamp (or None), naive zone."""
    e = _valid_event(rng)
    extra: list[tuple[str, Any]] = []
    for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
        _mutate(rng, e, extra)
    try:
        payload: bytes | None = serialize(rng, e, extra).encode("utf-8", "surrogatepass")
    except ValueError:
        payload = b"{}"
    if payload is not None and rng.random() < 0.1:
        payload = _damage(rng, payload)
    ts = e.get("event_timestamp")
    base = ts if isinstance(ts, int) and not isinstance(ts, bool) and 0 <= ts < 2**62 else EVENT_TIME
    record_timestamp = rng.choice(
        [
            None,
            base,
            base + 3_600_000,
            base + 3_600_001,
            base - 300_000,
            base - 300_001,
            base + rng.randrange(-400_000, 4_000_000),
        ]
    )
    return Case(payload, record_timestamp, rng.choice(ZONES))


def cases() -> st.SearchStrategy[Case]:
    """Hypothesis strategy over `hostile` (its random draws shrink like any other data)."""
    return st.randoms(use_true_random=False).map(hostile)
