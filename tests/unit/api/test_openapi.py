"""The OpenAPI spec says what the API accepts and answers (what a contract fuzzer holds it to)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.deps import get_pinot
from api.main import create_app
from api.routers.products import ID_PATTERN
from api.timerange import INSTANT_PATTERN, ZONES
from core.settings import Settings
from tests.support.fake_pinot import FakePinot

METRIC_ROUTES = [
    "/metrics/active-users",
    "/metrics/active-users/sliding",
    "/metrics/products",
    "/metrics/products/{product_id}",
    "/metrics/sessions",
    "/metrics/sessions/{session_id}",
    "/metrics/revenue",
    "/metrics/funnel",
    "/metrics/data-quality",
    "/metrics/summary",
    "/metrics/events",
    "/metrics/categories",
    "/metrics/dead-letters",
    "/metrics/page-views/hour-of-day",
    "/metrics/customers/locations",
    "/metrics/referrers",
    "/metrics/landing-pages",
    "/metrics/day-to-date",
    "/metrics/visits",
    "/metrics/retention",
    "/metrics/brands",
    "/metrics/customers/regions",
    "/metrics/customers/order-frequency",
    "/metrics/dimensions",
]


def test_every_route_is_checked_here_or_named_as_not_a_metric(spec: dict[str, Any]) -> None:
    others = {
        "/health",
        "/ready",
        "/prometheus",
        "/alerts",
        "/auth/session",
        "/time-zones",
        "/metrics/stream",
        "/kafka/topics",
        "/kafka/topics/{topic}/records",
    }
    assert set(spec["paths"]) == set(METRIC_ROUTES) | others


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(port_offset=31000)).openapi()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(Settings(port_offset=31000, run_dir=tmp_path_factory.mktemp("run")))
    fake = FakePinot()
    app.dependency_overrides[get_pinot] = lambda: fake
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _params(spec: dict[str, Any], route: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in spec["paths"][route]["get"].get("parameters", [])}


def _schema(param: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = param["schema"]
    return next((s for s in schema.get("anyOf", []) if s.get("type") == "string"), schema)


@pytest.mark.parametrize("route", METRIC_ROUTES)
def test_every_metric_route_documents_its_errors_in_the_one_shape(spec: dict[str, Any], route: str) -> None:
    responses = spec["paths"][route]["get"]["responses"]
    expected = {"200", "422", "503", "500", "502"} | ({"404"} if "{" in route else set())
    assert set(responses) == expected
    for status in expected - {"200"}:
        ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorBody", (route, status)
    assert "Retry-After" in responses["503"]["headers"]


@pytest.mark.parametrize("route", [r for r in METRIC_ROUTES if "{" not in r])
def test_from_to_and_tz_say_exactly_what_is_accepted(spec: dict[str, Any], route: str) -> None:
    params = _params(spec, route)
    for name in ("from", "to"):
        assert _schema(params[name])["pattern"] == INSTANT_PATTERN
        assert "clamped" in params[name]["description"]
    assert params["tz"]["schema"]["enum"] == list(ZONES)
    assert "Europe/Kyiv" in params["tz"]["schema"]["enum"]


def test_paths_ids_and_pages_have_their_limits(spec: dict[str, Any]) -> None:
    product = _params(spec, "/metrics/products/{product_id}")["product_id"]["schema"]
    assert (product["pattern"], product["maxLength"]) == (ID_PATTERN, 64)
    page = _params(spec, "/metrics/products")
    assert (page["limit"]["schema"]["maximum"], page["offset"]["schema"]["maximum"]) == (1000, 100_000)
    assert "product_category" not in _params(spec, "/metrics/sessions")  # a session spans categories


@settings(max_examples=200, deadline=None)
@given(st.from_regex(ID_PATTERN, fullmatch=True).filter(lambda s: 1 <= len(s) <= 64))
@pytest.mark.slow
def test_any_id_the_spec_allows_is_a_2xx_or_a_404(client: TestClient, product_id: str) -> None:
    # FakePinot knows no product and no session: a documented 404 for every schema-valid id.
    for route in ("/metrics/products/", "/metrics/sessions/"):
        r = client.get(route + quote(product_id, safe=""))
        assert r.status_code == 404, (product_id, r.text)
        assert r.json()["detail"][0]["type"] == "not_found"


def test_pattern_is_the_same_for_python_and_the_validator(client: TestClient) -> None:
    # pydantic validates `pattern` with Rust's regex; the parser uses Python's: both must agree.
    for text in ("now", "-1w", "2028-02-29", "2026-11-29T00:00", "2026-11-29T00:00:00.5+05:45"):
        assert re.fullmatch(INSTANT_PATTERN, text)
        assert client.get("/metrics/funnel", params={"from": text}).status_code == 200, text
    for text in ("now\n", "2026-02-29", "+1h", "2026-11-29t00:00"):
        assert not re.fullmatch(INSTANT_PATTERN, text)
        assert client.get("/metrics/funnel", params={"from": text}).status_code == 422, text
