"""The business day in Python (core/business_day.py) against the vectors the Java UDF also passes."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.business_day import business_day
from tests.vectors import business_day_vectors

VECTORS = business_day_vectors()


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_each_shared_vector_gets_its_date(vector: dict[str, object]) -> None:
    assert business_day(vector["epoch_ms"], vector["zone"]) == vector["date"]  # type: ignore[arg-type]


def test_the_vectors_say_which_instant_they_hold() -> None:
    for v in VECTORS:
        assert int(datetime.fromisoformat(v["instant"]).timestamp() * 1000) == v["epoch_ms"], v["name"]
    assert len({v["zone"] for v in VECTORS}) >= 10


def test_an_unknown_zone_is_an_error_not_a_date() -> None:
    with pytest.raises(Exception, match="Mars/Olympus"):
        business_day(0, "Mars/Olympus")
