"""Rules the metric rows themselves hold (core/metrics.py)."""

from __future__ import annotations

from typing import Any

from core.metrics import SessionSummary


def _session(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "session_id": "s1",
        "user_id": "u1",
        "device_type": "mobile",
        "os": "iOS",
        "browser": "Safari",
        "location": "Paris",
        "events": 3,
        "page_views": 1,
        "landing_page": "/deals",
        "products_viewed": 1,
        "products_carted": 0,
        "orders": 0,
        "units": 0,
        "revenue": 0.0,
        "first_event_time": 1_764_000_000_000,
        "last_event_time": 1_764_000_060_000,
    }
    return {**row, **changes}


def test_a_session_without_page_views_has_no_landing_page_whatever_the_store_filled_in() -> None:
    # Pinot 0.11 reads an absent STRING back as the text "null"
    assert SessionSummary.model_validate(_session(page_views=0, landing_page="null")).landing_page is None
    assert SessionSummary.model_validate(_session(page_views=0, landing_page=None)).landing_page is None


def test_a_page_named_null_is_still_a_landing_page() -> None:
    assert SessionSummary.model_validate(_session(landing_page="null")).landing_page == "null"
    assert SessionSummary.model_validate(_session()).landing_page == "/deals"
