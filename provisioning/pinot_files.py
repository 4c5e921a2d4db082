"""`pinot/<dataset>/schema.json` and `table.json`, generated from core/datasets.py.

`rta generate` writes them (with the Flink SQL); `rta generate --check` and a unit test fail when a
committed file differs from what the registry says. Where a table connects (the Kafka bootstrap) is
filled in at creation time (provisioning.pinot_tables.with_overrides).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from core.columns import Kind
from core.datasets import DATASETS, Dataset, Mode
from provisioning.pinot_tables import PINOT_DIR

PINOT_TYPES = {
    Kind.STRING: "STRING",
    Kind.DOUBLE: "DOUBLE",
    Kind.INT: "INT",
    Kind.LONG: "LONG",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.EPOCH_MILLIS: "LONG",
}
_METRIC_KINDS = {Kind.DOUBLE, Kind.INT, Kind.LONG}
# How every REALTIME table reads its topic. read_committed: the exactly-once sinks write in
# transactions. smallest: rows produced before the table existed are kept. Segments are sealed by
# time or size, never by a row count.
STREAM_CONFIGS = {
    "streamType": "kafka",
    "stream.kafka.consumer.type": "lowlevel",
    "stream.kafka.consumer.factory.class.name": (
        "org.apache.pinot.plugin.stream.kafka20.KafkaConsumerFactory"
    ),
    "stream.kafka.decoder.class.name": "org.apache.pinot.plugin.inputformat.json.JSONMessageDecoder",
    "stream.kafka.consumer.prop.auto.offset.reset": "smallest",
    "stream.kafka.isolation.level": "read_committed",
    "realtime.segment.flush.threshold.rows": "0",
    "realtime.segment.flush.threshold.time": "6h",
    "realtime.segment.flush.threshold.segment.size": "100M",
}
DEFAULT_BROKERS = "127.0.0.1:9092"
"""Written into the files for reading them alone; replaced by the stack's bootstrap at creation."""


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


def table_config(dataset: Dataset) -> dict[str, Any]:
    """A REALTIME table config: one replica, strict replica-group routing (upsert needs it, and every
    table gets it so a query sees one consistent replica), null handling on."""
    stream = {
        **STREAM_CONFIGS,
        "stream.kafka.topic.name": dataset.topic,
        "stream.kafka.broker.list": DEFAULT_BROKERS,
    }
    config: dict[str, Any] = {
        "tableName": dataset.name,
        "tableType": "REALTIME",
        "segmentsConfig": {
            "schemaName": dataset.name,
            "timeColumnName": dataset.time_column,
            "replicasPerPartition": "1",
            "retentionTimeUnit": "DAYS",
            "retentionTimeValue": str(dataset.retention_days),
        },
        "tenants": {},
        "tableIndexConfig": {
            "loadMode": "MMAP",
            "nullHandlingEnabled": True,
            "invertedIndexColumns": list(dataset.inverted_index),
            "rangeIndexColumns": [dataset.time_column],
            "streamConfigs": stream,
        },
        "routing": {"instanceSelectorType": "strictReplicaGroup"},
        "metadata": {"customConfigs": {"purpose": dataset.description}},
    }
    if dataset.mode is Mode.UPSERT:
        config["upsertConfig"] = {"mode": "FULL", "comparisonColumn": dataset.version_column}
    return config


def render() -> dict[Path, str]:
    """Relative path under pinot/ -> file text, for every dataset."""
    files = {}
    for dataset in DATASETS:
        files[Path(dataset.name, "schema.json")] = json.dumps(schema(dataset), indent=2) + "\n"
        files[Path(dataset.name, "table.json")] = json.dumps(table_config(dataset), indent=2) + "\n"
    return files


def stale_files(base: Path = PINOT_DIR) -> list[str]:
    """Files under `base` that differ from the registry, and dataset folders with no dataset."""
    wanted = render()
    stale = [str(path) for path, text in wanted.items() if _read(base / path) != text]
    names = {d.name for d in DATASETS} | set(HAND_WRITTEN)
    stray = [p.name for p in base.iterdir() if p.is_dir() and p.name not in names] if base.is_dir() else []
    return sorted(stale + stray)


HAND_WRITTEN = ("stack_probe",)
"""Tables that are not datasets of the pipeline (the stack's ingestion self-check)."""


def _read(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def write(base: Path = PINOT_DIR) -> list[Path]:
    """Write every dataset's files and remove the folders of datasets no longer in the registry (a
    dropped dataset's table stays in a running Pinot until dropped there); returns the paths written."""
    names = {d.name for d in DATASETS} | set(HAND_WRITTEN)
    for stray in base.iterdir() if base.is_dir() else ():
        if stray.is_dir() and stray.name not in names:
            shutil.rmtree(stray)
    written = []
    for path, text in render().items():
        target = base / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        written.append(target)
    return written
