"""The README's sample API answers have exactly the response models' shape."""

from __future__ import annotations

import api.schemas
from tests.support import readme


def test_every_route_has_a_sample_of_the_documented_shape() -> None:
    samples = readme.json_samples()
    shapes = {name for name, _ in samples}
    assert shapes == {
        "ActiveUsersSeries",
        "ProductRanking",
        "ProductSeries",
        "SessionPage",
        "RevenueSeries",
        "Funnel",
        "QualitySeries",
        "Readiness",
    }
    for name, sample in samples:
        model = getattr(api.schemas, name)
        readme.assert_shape(sample, model)
        if "meta" in sample:
            readme.assert_shape(sample["meta"], api.schemas.Meta)
        for row in sample.get("data", []):
            if isinstance(row, dict) and "previous" in row and row["previous"] is not None:
                assert set(row["previous"]) == set(api.schemas.ProductTotals.model_fields)


def test_every_api_route_has_a_curl_example() -> None:
    paths = {
        line.split("'")[1].split("?")[0].replace(readme.DEMO_API, "") for line in readme.api_curl_lines()
    }
    assert {
        "/metrics/active-users",
        "/metrics/active-users/sliding",
        "/metrics/referrers",
        "/metrics/landing-pages",
        "/metrics/day-to-date",
        "/metrics/visits",
        "/metrics/retention",
        "/metrics/brands",
        "/metrics/customers/regions",
        "/metrics/products",
        "/metrics/sessions",
        "/metrics/revenue",
        "/metrics/funnel",
        "/metrics/data-quality",
        "/ready",
    } <= paths
    assert any(p.startswith("/metrics/products/") for p in paths)
