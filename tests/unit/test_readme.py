"""The README's sample API answers have exactly the response models' shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

import api.schemas
from tests.support import readme


def _same_keys(body: dict[str, Any], model: type[BaseModel]) -> None:
    fields = {f.serialization_alias or name for name, f in model.model_fields.items()}
    assert set(body) == fields, (model.__name__, sorted(set(body) ^ fields))
    model.model_validate(body)


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
        _same_keys(sample, model)
        if "meta" in sample:
            _same_keys(sample["meta"], api.schemas.Meta)
        for row in sample.get("data", []):
            if isinstance(row, dict) and "previous" in row and row["previous"] is not None:
                assert set(row["previous"]) == set(api.schemas.ProductTotals.model_fields)


def test_every_api_route_has_a_curl_example() -> None:
    paths = {
        line.split("'")[1].split("?")[0].replace(readme.DEMO_API, "") for line in readme.api_curl_lines()
    }
    assert {
        "/metrics/active-users",
        "/metrics/products",
        "/metrics/sessions",
        "/metrics/revenue",
        "/metrics/funnel",
        "/metrics/data-quality",
        "/ready",
    } <= paths
    assert any(p.startswith("/metrics/products/") for p in paths)
