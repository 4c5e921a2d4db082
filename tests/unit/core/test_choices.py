"""The choices a caller has are written once (core/choices.py) and agree with the datasets and the UI."""

from __future__ import annotations

import re
from dataclasses import fields

from core.choices import (
    FUNNEL_STEPS,
    FunnelBreakdown,
    LandingPageSort,
    ProductSort,
    SessionSort,
    choices,
)
from core.datasets import DATASETS, EVENTS, PRODUCT_METRICS, SESSION_METRICS
from flink_jobs.pipeline import Topics
from query.analytics import LANDING_PAGE_ORDER, Tables
from toolchain.versions import REPO_ROOT

APP_JS = REPO_ROOT / "api" / "dashboard" / "static" / "app.js"


def _js_list(name: str) -> list[str]:
    match = re.search(rf"const {name} = \[([^\]]*)\];", APP_JS.read_text())
    assert match, f"app.js has no {name}"
    return [v for v in re.findall(r"'([^']*)'", match.group(1)) if v]


def test_sort_keys_are_columns_of_the_dataset_they_rank() -> None:
    assert set(choices(ProductSort)) <= {c.name for c in PRODUCT_METRICS.columns}
    assert set(choices(SessionSort)) <= {c.name for c in SESSION_METRICS.columns}


def test_each_landing_page_sort_has_its_aggregate() -> None:
    assert list(LANDING_PAGE_ORDER) == list(choices(LandingPageSort))


def test_funnel_breakdowns_and_steps_are_event_columns_and_types() -> None:
    assert set(choices(FunnelBreakdown)) <= {c.name for c in EVENTS.columns}
    assert {step for step, _ in FUNNEL_STEPS} <= set(EVENTS.column("event_type").choices)


def test_the_dashboards_menus_offer_exactly_the_choices() -> None:
    assert sorted(_js_list("PSORTS")) == sorted(choices(ProductSort))
    assert sorted(_js_list("SSORTS")) == sorted(choices(SessionSort))
    assert sorted(_js_list("BREAKDOWNS")) == sorted(choices(FunnelBreakdown))


def test_the_jobs_topics_and_the_apis_tables_name_every_dataset() -> None:
    names = sorted(d.name for d in DATASETS)
    assert sorted(f.name for f in fields(Tables)) == names, "add the dataset to query.analytics.Tables"
    inputs = ["raw_events", "dim_products", "dim_customers"]
    assert sorted(f.name for f in fields(Topics)) == sorted([*names, *inputs]), (
        "add the dataset to flink_jobs.pipeline.Topics"
    )
    assert all(Topics().for_dataset(d) == d.topic for d in DATASETS)
