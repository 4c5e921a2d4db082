"""Parameter validation and the Pinot-down answer, with no engine running (nothing listens on the ports)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings


@pytest.fixture
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # Ports shifted to where nothing runs: every Pinot call fails to connect, as when Pinot is down.
    settings = Settings(port_offset=31000, run_dir=tmp_path_factory.mktemp("run"))
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/metrics/active-users?from=yesterday", "from"),
        ("/metrics/active-users?to=soon", "to"),
        ("/metrics/active-users?tz=Mars/Olympus", "tz"),
        ("/metrics/active-users?granularity=week", "granularity"),
        ("/metrics/active-users?device_type=fridge", "device_type"),
        ("/metrics/products?sort=popularity", "sort"),
        ("/metrics/products?limit=0", "limit"),
        ("/metrics/products?limit=5000", "limit"),
        ("/metrics/products?offset=-1", "offset"),
        ("/metrics/products?compare=last_year", "compare"),
        ("/metrics/funnel?breakdown=os", "breakdown"),
        ("/metrics/sessions?sort=random", "sort"),
        ("/metrics/sessions?product_category=books", "product_category"),
        ("/metrics/revenue?location=" + "x" * 65, "location"),
        ("/metrics/revenue?os=%01", "os"),
        ("/metrics/revenue?os=a%00b", "os"),
        ("/metrics/active-users?from=now%00", "from"),
        ("/metrics/active-users?tz=Europe/Paris%00", "tz"),
        ("/metrics/active-users?tz=" + "A" * 5000, "tz"),
        ("/metrics/active-users?from=10000-01-01", "from"),
        ("/metrics/active-users?to=99999-12-31T00:00:00Z", "to"),
        ("/metrics/active-users?from=2026-02-30", "from"),
        ("/metrics/active-users?from=-9999999w", "from"),
        ("/metrics/products?limit=99999999999999999999999", "limit"),
        ("/metrics/products?offset=100001", "offset"),
        ("/metrics/sessions?offset=18446744073709551616", "offset"),
        ("/metrics/products/a%00b", "product_id"),
        ("/metrics/sessions/" + "s" * 65, "session_id"),
    ],
)
def test_bad_parameters_get_a_4xx_naming_them(client: TestClient, path: str, param: str) -> None:
    r = client.get(path)
    assert r.status_code == 422, r.text
    body = r.json()
    assert [e["loc"][-1] for e in body["detail"]] == [param]
    assert all(set(e) == {"loc", "msg", "type"} for e in body["detail"])  # the one error shape


@pytest.mark.parametrize(
    "path",
    [
        "/metrics/active-users",
        "/metrics/products",
        "/metrics/products/p-00001",
        "/metrics/sessions",
        "/metrics/sessions/s-1",
        "/metrics/revenue",
        "/metrics/funnel",
        "/metrics/data-quality",
    ],
)
def test_unreachable_pinot_is_a_503_with_a_clear_message(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 503, r.text
    [error] = r.json()["detail"]
    assert "Pinot broker" in error["msg"]
    assert (error["loc"], error["type"]) == ([], "unavailable")
    assert "Errno" not in error["msg"]
    assert "Traceback" not in r.text
    assert r.headers["retry-after"] == "5"


def test_health_needs_no_engine_and_ready_says_what_is_missing(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
    r = client.get("/ready")
    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False
    assert set(body["checks"]) == {"kafka", "pinot", "flink"}
    assert not any(c["ok"] for c in body["checks"].values())


def test_openapi_documents_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for route in (
        "/metrics/active-users",
        "/metrics/products",
        "/metrics/products/{product_id}",
        "/metrics/sessions",
        "/metrics/sessions/{session_id}",
        "/metrics/revenue",
        "/metrics/funnel",
        "/metrics/data-quality",
        "/health",
        "/ready",
    ):
        assert paths[route]["get"]["description"] or paths[route]["get"]["summary"], route
