"""The topics view shows each record as it is in the topic: indented only when that changes nothing."""

from __future__ import annotations

import json

import pytest

from query.topics import _pretty


def test_json_is_indented() -> None:
    assert _pretty(b'{"a":1,"b":[1.5,"x"]}') == json.dumps({"a": 1, "b": [1.5, "x"]}, indent=2)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',  # a duplicate key would be merged
        b"123456789012345678901234567890",  # a big integer stays exact (no float on the way)
        b'{"price": 1e400}',  # beyond a double
        b'{"price": 0.10000000000000000555}',  # more digits than a double keeps
        b"1E5",
        b"not json",
        b"[" * 5000 + b"]" * 5000,  # deeper than re-printing can go
        b'{"user_id": "\\ud800"}',  # an escaped lone surrogate: not UTF-8 once decoded (was a 500)
    ],
)
def test_what_would_change_is_shown_as_sent(raw: bytes) -> None:
    assert _pretty(raw) == raw.decode()


def test_bytes_that_are_not_utf8_and_tombstones() -> None:
    assert _pretty(b"\xff{}") == "\ufffd{}"
    assert _pretty(None) == "null (tombstone)"
