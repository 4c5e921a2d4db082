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
from tests.support.api_checks import (
    assert_api_serves,
    assert_dashboard_routes_serve,
    assert_prometheus_serves,
    whole_hours,
)
from tests.support.e2e import (
    CRAFTED_REJECTS,
    assert_pinot_serves,
    assert_topics_exactly_once,
    injected_late,
    midnight_visits,
    running_pipeline,
    send_all,
    send_dimensions,
    settled_records,
    traffic,
    traffic_dimensions,
    visit_edges,
)
from tests.support.oracle import expected

pytestmark = pytest.mark.integration


def business_zone_with_midnight_at(hour: datetime) -> str:
    """A fixed-offset zone whose midnight is the whole UTC hour `hour` (Etc/GMT-N is UTC+N: POSIX signs)."""
    offset = -hour.hour % 24
    if offset > 14:  # zones go from UTC-12 to UTC+14
        offset -= 24
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_served_numbers_equal_an_independent_computation(settings: Settings) -> None:
    now = datetime.now(UTC)
    # A business day starts during the traffic: at the last whole hour at least 200 s ago, in a zone
    # chosen so that it is midnight there; events up to 2 hours late are accepted, so it always fits.
    midnight = (now - timedelta(seconds=200)).replace(minute=0, second=0, microsecond=0)
    settings = settings.model_copy(
        update={
            "business_time_zone": business_zone_with_midnight_at(midnight),
            "max_lateness_s": 7200,
            "metrics_ttl_s": 10800,
        }
    )
    with running_pipeline(settings, "e2e") as pipeline:
        start = now - timedelta(seconds=150)  # event time behind the record timestamps
        dims, movers = traffic_dimensions(start, mover_moves=now - timedelta(seconds=25))
        send_dimensions(settings, pipeline.topics, dims)
        sent = [*traffic(start, count=6000), *midnight_visits(midnight), *visit_edges(now), *movers]
        send_all(settings, pipeline.topics.raw_events, sent, rate=1500)
        want = expected(settled_records(settings, pipeline.topics.raw_events), settings, dims)
        # the oracle itself: the mover's purchases fall under the state before and after the move
        moved = [r.customer_state for r in want.enriched_product_events if r.user_id.startswith("u-mover-")]
        assert moved == ["ZZ-AN", "ZZ-BE"]
        assert {r.brand for r in want.enriched_product_events} >= {"unknown", "Voltrix"}
        assert len(want.dead_letters) >= len(CRAFTED_REJECTS) + 5  # crafted + generator's malformed
        assert len(want.accepted) > 5000
        # Late events count in their minute and are flagged; the oracle flags the injected ones too.
        late = injected_late(sent, want)
        assert late
        assert late <= want.late
        assert_pinot_serves(settings, pipeline.tables, want)
        assert_topics_exactly_once(settings, pipeline.topics, want)
        # the traffic spans the start of a business day, so the day-to-date totals restart in range
        assert len({row.business_day for row in want.user_days}) == 2
        with TestClient(create_app(settings, Tables(**pipeline.tables))) as client:
            assert_api_serves(client, want)
            assert_dashboard_routes_serve(client, want, whole_hours(want))
            assert_prometheus_serves(
                client, want, pipeline.job_name, pipeline.topics.raw_events, pipeline.tables["events"]
            )
