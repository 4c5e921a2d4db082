"""The Java checker the job runs agrees with the Python checker: on every shared vector, and on
payloads Hypothesis generates near every edge of the rules (the differential fuzz test).

A failure shrinks to one payload: add it to tests/vectors/build_event_contract.py with the verdict
the rules give, so both runtimes keep being tested on it.
"""

from __future__ import annotations

import base64
import math
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.contract import Verdict, check
from tests.support.fuzz_payloads import Case, cases
from tests.support.java_contract import JavaContract, JavaVerdict
from tests.support.vectors import Vector, load

FUZZ_EXAMPLES = int(os.environ.get("RTA_FUZZ_EXAMPLES", "3000"))
"""Examples per run in `make test`; raise RTA_FUZZ_EXAMPLES for a longer hunt."""


@pytest.fixture(scope="module")
def java() -> Iterator[JavaContract]:
    checker = JavaContract()
    yield checker
    checker.close()


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and float(a) == float(b)
            and math.copysign(1, a) == math.copysign(1, b)
        )
    return bool(a == b)


def dead_letter_payload(payload: bytes | None, max_bytes: int = 64 * 1024) -> tuple[str | None, str | None]:
    """What the job's dead letter carries, by the documented rule (core/metrics.py, DeadLetter.payload)."""
    if payload is None:
        return None, None
    if len(payload) <= max_bytes:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" not in text:
            return text, "utf-8"
    return base64.b64encode(payload[:max_bytes]).decode(), "base64"


def assert_agree(python: Verdict, java: JavaVerdict, payload: bytes | None) -> None:
    assert (java.code, java.field, java.reason) == (
        None if python.code is None else str(python.code),
        python.field,
        python.reason,
    ), payload
    if python.accepted:
        assert java.values is not None
        assert java.values.keys() == python.values.keys()
        for name, value in python.values.items():
            assert _same_value(value, java.values[name]), (name, value, java.values[name], payload)
    else:
        assert java.values is None
        assert (java.dead_letter_payload, java.dead_letter_encoding) == dead_letter_payload(payload)


@pytest.mark.parametrize("vector", load(), ids=lambda v: v.name)
def test_java_gives_each_vector_the_python_verdict(java: JavaContract, vector: Vector) -> None:
    python = check(vector.payload, vector.record_timestamp, naive_zone=vector.naive_zone)
    assert_agree(
        python, java.check(vector.payload, vector.record_timestamp, vector.naive_zone), vector.payload
    )


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(case=cases())
@pytest.mark.slow
def test_java_and_python_agree_on_generated_payloads(java: JavaContract, case: Case) -> None:
    python = check(case.payload, case.record_timestamp, naive_zone=case.naive_zone)
    assert_agree(python, java.check(case.payload, case.record_timestamp, case.naive_zone), case.payload)


@given(st.binary(max_size=300))
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_java_and_python_agree_on_arbitrary_bytes(java: JavaContract, payload: bytes) -> None:
    assert_agree(check(payload), java.check(payload), payload)
