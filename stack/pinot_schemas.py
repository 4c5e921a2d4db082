"""Pinot schemas generated from core/datasets.py; table configs (indexes, upsert) are hand-written.

`python -m stack.pinot_schemas` rewrites `pinot/<table>/schema.json`; a unit test fails when a committed
schema differs from what the models say.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from core.columns import Kind
from core.datasets import DATASETS, Dataset
from stack.pinot_tables import PINOT_DIR

PINOT_TYPES = {
    Kind.STRING: "STRING",
    Kind.DOUBLE: "DOUBLE",
    Kind.INT: "INT",
    Kind.LONG: "LONG",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.EPOCH_MILLIS: "LONG",
}
_METRIC_KINDS = {Kind.DOUBLE, Kind.INT, Kind.LONG}


def schema(dataset: Dataset) -> dict[str, Any]:
    dimensions, metrics, times = [], [], []
    keys = set(dataset.primary_key)
    for column in dataset.columns:
        spec: dict[str, Any] = {"name": column.name, "dataType": PINOT_TYPES[column.kind]}
        if column.kind is Kind.STRING and column.max_length is not None and column.max_length > 256:
            # Pinot cuts a STRING at `maxLength` UTF-16 units (default 512); the models count code
            # points, and a code point takes up to two units.
            spec["maxLength"] = 2 * column.max_length
        if column.kind is Kind.EPOCH_MILLIS:
            times.append({**spec, "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"})
        elif column.kind in _METRIC_KINDS and column.name not in keys:
            metrics.append(spec)
        else:
            dimensions.append(spec)
    return {
        "schemaName": dataset.name,
        "primaryKeyColumns": list(dataset.primary_key),
        "dimensionFieldSpecs": dimensions,
        "metricFieldSpecs": metrics,
        "dateTimeFieldSpecs": times,
    }


def render(dataset: Dataset) -> str:
    return json.dumps(schema(dataset), indent=2) + "\n"


def stale_schemas(base: Path = PINOT_DIR) -> list[str]:
    return [d.name for d in DATASETS if _read(base / d.name / "schema.json") != render(d)]


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def write(base: Path = PINOT_DIR) -> None:
    for dataset in DATASETS:
        folder = base / dataset.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "schema.json").write_text(render(dataset))


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote {len(DATASETS)} schemas under {PINOT_DIR}\n")
