"""End to end on the real stack: generator -> Kafka -> Flink pipeline -> Kafka -> Pinot, against an oracle.

The oracle (tests/support/oracle.py) recomputes every served number in plain Python from the records in
the raw topic; the pipeline's own output is never used as the expectation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.settings import Settings
from query.analytics import Tables
from tests.integration.api_checks import (
    assert_api_serves,
    assert_dashboard_routes_serve,
    assert_prometheus_serves,
    whole_hours,
)
from tests.integration.e2e import (
    CRAFTED_REJECTS,
    assert_pinot_serves,
    assert_topics_exactly_once,
    injected_late,
    raw_records,
    running_pipeline,
    send_all,
    traffic,
)
from tests.support.oracle import expected

pytestmark = pytest.mark.integration


def test_served_numbers_equal_an_independent_computation(settings: Settings) -> None:
    with running_pipeline(settings, "e2e") as pipeline:
        start = datetime.now(UTC) - timedelta(seconds=150)  # event time behind the record timestamps
        sent = traffic(start, count=6000)
        send_all(settings, pipeline.topics.raw_events, sent, rate=1500)
        want = expected(raw_records(settings, pipeline.topics.raw_events), settings)
        assert len(want.dead_letters) >= len(CRAFTED_REJECTS) + 5  # crafted + generator's malformed
        assert len(want.accepted) > 5000
        # Late events count in their minute and are flagged; the oracle flags the injected ones too.
        late = injected_late(sent, want)
        assert late
        assert late <= want.late
        assert_pinot_serves(settings, pipeline.tables, want)
        assert_topics_exactly_once(settings, pipeline.topics, want)
        with TestClient(create_app(settings, Tables(**pipeline.tables))) as client:
            assert_api_serves(client, want)
            assert_dashboard_routes_serve(client, want, whole_hours(want))
            assert_prometheus_serves(
                client, want, pipeline.job_name, pipeline.topics.raw_events, pipeline.tables["events"]
            )
