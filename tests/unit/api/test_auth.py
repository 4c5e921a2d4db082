"""Access control: every status a key can get (200, 401, 403, 429), each way of sending it, the cookie
the dashboard uses, and the switch (off on loopback, on elsewhere, no start without keys)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.auth import COOKIE, digest, enabled, new_key
from api.deps import get_pinot
from api.main import create_app
from core.settings import ApiKey, Settings
from tests.support.fake_pinot import FakePinot

READER, ANALYST, SLOW = "rta_reader-key", "rta_analyst-key", "rta_slow-key"
KEYS = (
    ApiKey(name="reader", sha256=digest(READER), scopes=("metrics",)),
    ApiKey(name="analyst", sha256=digest(ANALYST), scopes=("metrics", "sessions", "kafka", "ops")),
    ApiKey(name="slow", sha256=digest(SLOW), scopes=("metrics",), rate_per_s=0.5, burst=2),
)


@pytest.fixture
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(
        port_offset=31000, run_dir=tmp_path_factory.mktemp("run"), api_auth="on", api_keys=KEYS
    )
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: FakePinot()
    # https: the key cookie is Secure for a browser that is not on this machine (as the test client is not)
    with TestClient(app, base_url="https://127.0.0.1", raise_server_exceptions=False) as c:
        yield c


def test_no_key_or_an_unknown_one_is_401_with_a_challenge(client: TestClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"X-API-Key": "nope"},
        {"Authorization": "Basic x"},
    ):
        r = client.get("/metrics/summary", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == 'Bearer realm="rta"'
        assert r.json()["detail"][0]["type"] == "unauthorized"


def test_a_key_is_accepted_as_bearer_as_x_api_key_and_as_the_cookie(client: TestClient) -> None:
    assert client.get("/metrics/summary", headers={"Authorization": f"Bearer {READER}"}).status_code == 200
    assert client.get("/metrics/summary", headers={"X-API-Key": READER}).status_code == 200
    assert client.post("/auth/session", headers={"X-API-Key": READER}).status_code == 204
    assert client.cookies.get(COOKIE) == READER
    assert client.get("/metrics/summary").status_code == 200  # the cookie alone
    assert client.delete("/auth/session").status_code == 204
    client.cookies.clear()
    assert client.get("/metrics/summary").status_code == 401
    assert client.post("/auth/session", headers={"X-API-Key": "nope"}).status_code == 401


def test_a_key_without_the_scope_is_403(client: TestClient) -> None:
    reader, analyst = {"X-API-Key": READER}, {"X-API-Key": ANALYST}
    for path in ("/metrics/sessions", "/metrics/dead-letters", "/kafka/topics", "/prometheus"):
        r = client.get(path, headers=reader)
        assert r.status_code == 403, path
        assert r.json()["detail"][0]["type"] == "forbidden"
        assert client.get(path, headers=analyst).status_code != 403, path


def test_open_routes_need_no_key(client: TestClient) -> None:
    for path in ("/health", "/time-zones", "/dashboard", "/dashboard/static/app.js"):
        assert client.get(path).status_code == 200, path


def test_a_key_over_its_rate_is_429_with_retry_after(client: TestClient) -> None:
    slow = {"X-API-Key": SLOW}
    assert [client.get("/metrics/summary", headers=slow).status_code for _ in range(2)] == [200, 200]  # burst
    r = client.get("/metrics/summary", headers=slow)
    assert r.status_code == 429
    assert 1 <= int(r.headers["retry-after"]) <= 2  # one token per 2 s
    assert client.get("/metrics/summary", headers={"X-API-Key": READER}).status_code == 200  # per key


def test_access_control_is_on_off_loopback_and_refuses_to_start_without_keys() -> None:
    assert not enabled(Settings(api_bind_host="127.0.0.1"))
    assert enabled(Settings(api_bind_host="0.0.0.0"))
    assert not enabled(Settings(api_bind_host="0.0.0.0", api_auth="off"))
    with pytest.raises(RuntimeError, match="RTA_API_KEYS"):
        create_app(Settings(api_bind_host="0.0.0.0"))
    key, sha = new_key()
    assert sha == digest(key)
    assert len(key) > 40


def test_dead_letters_need_the_sessions_scope_alone_and_cost_one_token(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    key = "rta_sessions-only"
    only = ApiKey(name="s", sha256=digest(key), scopes=("sessions",), rate_per_s=0.01, burst=2)
    settings = Settings(
        port_offset=31000, run_dir=tmp_path_factory.mktemp("run"), api_auth="on", api_keys=(only,)
    )
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: FakePinot()
    with TestClient(app, raise_server_exceptions=False) as c:
        codes = [c.get("/metrics/dead-letters", headers={"X-API-Key": key}).status_code for _ in range(3)]
        assert codes == [200, 200, 429]  # a burst of 2: one token per request
        assert c.get("/metrics/summary", headers={"X-API-Key": key}).status_code == 403


def test_auto_asks_for_a_key_on_a_request_that_came_in_on_another_address(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # RTA_API_BIND_HOST says loopback, but uvicorn was started with --host 0.0.0.0.
    settings = Settings(port_offset=31000, run_dir=tmp_path_factory.mktemp("run"), api_keys=KEYS)
    app = create_app(settings)
    app.dependency_overrides[get_pinot] = lambda: FakePinot()
    with TestClient(app, base_url="http://10.1.2.3:8000") as remote:
        assert remote.get("/metrics/summary").status_code == 401
        assert remote.get("/metrics/summary", headers={"X-API-Key": READER}).status_code == 200
    with TestClient(app, base_url="http://127.0.0.1:8000") as local:
        assert local.get("/metrics/summary").status_code == 200
