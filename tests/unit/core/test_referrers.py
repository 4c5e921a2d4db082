"""The referrer host rule (core/referrers.py) on its shared vectors; Flink's side runs the same vectors
in tests/integration/test_flink.py."""

from __future__ import annotations

import pytest

from core.referrers import DIRECT, INTERNAL, referrer_host
from tests.vectors import referrer_vectors


@pytest.mark.parametrize("vector", referrer_vectors(), ids=lambda v: repr(v["referrer_url"]))
def test_each_vector(vector: dict[str, str | None]) -> None:
    assert referrer_host(vector["referrer_url"]) == vector["host"]


def test_the_vectors_take_every_branch_of_the_rule() -> None:
    hosts = {v["host"] for v in referrer_vectors()}
    assert {DIRECT, INTERNAL, "www.google.com", "Example.COM", "cdn.example.net"} <= hosts
    assert referrer_host(None) == referrer_host("") == DIRECT
    assert referrer_host("/deals") == INTERNAL
    assert referrer_host("https://user:pw@shop.example:8443/a?b#c") == "shop.example"
