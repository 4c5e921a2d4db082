"""`/prometheus` without engines: the API's own series by route template, and the pipeline's sources
reported down (not a failed scrape) when they do not answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.deps import get_pinot
from api.main import create_app
from api.observability import PipelineCollector
from core.settings import Settings
from query.analytics import Tables
from tests.support.fake_pinot import FakePinot


@pytest.fixture
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(Settings(port_offset=31000, run_dir=tmp_path_factory.mktemp("run")))
    app.dependency_overrides[get_pinot] = lambda: FakePinot()
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = client.get("/prometheus")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    assert client.get("/metrics/products/p-1").status_code == 404
    assert client.get("/metrics/products/p-2").status_code == 404
    assert client.get("/metrics/summary", params={"tz": "Mars/Olympus"}).status_code == 422
    assert client.get("/no/such/route").status_code == 404
    got = scrape(client)
    route = (("method", "GET"), ("route", "/metrics/products/{product_id}"), ("status", "404"))
    assert got[("rta_api_requests_total", route)] == 2  # ids never become labels
    assert (
        got[("rta_api_requests_total", (("method", "GET"), ("route", "/metrics/summary"), ("status", "422")))]
        == 1
    )
    assert (
        got[("rta_api_requests_total", (("method", "GET"), ("route", "unmatched"), ("status", "404")))] == 1
    )
    count = (
        "rta_api_request_seconds_count",
        (("method", "GET"), ("route", "/metrics/products/{product_id}")),
    )
    assert got[count] == 2


def test_sources_that_do_not_answer_are_reported_down(client: TestClient) -> None:
    got = scrape(client)  # nothing listens on the test settings' engine ports
    for source in ("kafka", "flink", "pinot"):
        assert got[("rta_exporter_up", (("source", source),))] == 0
    assert got[("rta_api_live_feeds", ())] == 0
    assert not any(name.startswith("rta_kafka_") for name, _ in got)


def test_an_unknown_method_is_counted_as_other(client: TestClient) -> None:
    for method in ("FOO1", "FOO2", "BREW"):
        client.request(method, "/metrics/summary")
    got = scrape(client)
    methods = {dict(labels)["method"] for (name, labels) in got if name == "rta_api_requests_total"}
    assert methods == {"other"}  # (the scrape itself is counted once it has answered)


def test_a_source_that_answers_nonsense_is_down_not_a_failed_scrape() -> None:
    class Nonsense:
        def rows(self, sql: str, params: object = None) -> list[dict[str, object]]:
            return [{"n": None, "t": None}] if "MAX(" not in sql else [{"t": None}]

    collector = PipelineCollector(Settings(port_offset=31000), Nonsense(), Tables())  # type: ignore[arg-type]
    families = {f.name: f for f in collector.collect()}
    up = {s.labels["source"]: s.value for s in families["rta_exporter_up"].samples}
    assert up == {"kafka": 0, "flink": 0, "pinot": 0}
