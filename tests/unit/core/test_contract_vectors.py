"""The Python checker gives every shared vector its expected verdict (the Java tests and the real job
read the same file)."""

from __future__ import annotations

import json
import math

import pytest

from core.contract import check, event_from
from core.events import to_epoch_millis
from tests.support.vectors import Vector, load
from tests.vectors import build_event_contract

VECTORS = load()


def test_the_vector_file_is_what_its_builder_writes() -> None:
    expected = "".join(json.dumps(v, ensure_ascii=True) + "\n" for v in build_event_contract.vectors)
    assert build_event_contract.OUT.read_text() == expected, (
        "run `python -m tests.vectors.build_event_contract`"
    )


def test_there_are_vectors_of_every_reason() -> None:
    codes = {v.code for v in VECTORS}
    assert None in codes
    assert codes >= {
        "empty", "too_large", "not_utf8", "not_json", "not_object", "missing", "wrong_type", "bad_format",
        "invalid_text", "too_short", "too_long", "not_allowed", "out_of_range", "total_mismatch",
        "outside_lateness",
    }  # fmt: skip
    assert len(VECTORS) >= 100


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_vector(vector: Vector) -> None:
    verdict = check(vector.payload, vector.record_timestamp, naive_zone=vector.naive_zone)
    assert (verdict.code, verdict.field) == (vector.code, vector.field), verdict.reason
    assert (verdict.reason is not None) == (vector.code is not None), "a rejection always says why"
    for name, want in vector.values.items():
        got = verdict.values[name]
        assert got == want
        if isinstance(want, float):  # -0.0 stays -0.0: stored as sent
            assert math.copysign(1, got) == math.copysign(1, want)
    if verdict.accepted:
        # The Pydantic models agree, and keep the event time to the millisecond.
        event = event_from(verdict, vector.naive_zone)
        assert to_epoch_millis(event.event_timestamp) == verdict.values["event_timestamp"]
