"""Create Pinot tables from `pinot/<table>/schema.json` + `table.json` through the controller's REST API.

The files hold the table's design; where it connects (Kafka bootstrap) comes from settings at creation
time, and tests may rename the table and its topic so that each test gets a fresh one.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings
from toolchain.versions import REPO_ROOT

PINOT_DIR = REPO_ROOT / "pinot"
STREAM_PREFIX = "stream.kafka."


class PinotTableError(RuntimeError):
    pass


@dataclass(frozen=True)
class TableDefinition:
    schema: dict[str, Any]
    table: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.table["tableName"])

    @property
    def stream_configs(self) -> dict[str, str]:
        configs: dict[str, str] = self.table["tableIndexConfig"]["streamConfigs"]
        return configs

    @property
    def topic(self) -> str:
        return self.stream_configs["stream.kafka.topic.name"]


def load(name: str, base: Path = PINOT_DIR) -> TableDefinition:
    folder = base / name
    try:
        schema = json.loads((folder / "schema.json").read_text())
        table = json.loads((folder / "table.json").read_text())
    except FileNotFoundError as exc:
        raise PinotTableError(f"table folder {folder} needs schema.json and table.json") from exc
    definition = TableDefinition(schema, table)
    validate(definition)
    return definition


def table_names(base: Path = PINOT_DIR) -> list[str]:
    return sorted(p.name for p in base.iterdir() if (p / "table.json").is_file())


def validate(d: TableDefinition) -> None:
    """Checks that catch the known ways a REALTIME table silently ingests nothing or the wrong thing."""
    problems = []
    if d.schema.get("schemaName") != d.name or d.table["segmentsConfig"].get("schemaName") != d.name:
        problems.append("schemaName must equal tableName in both files")
    time_col = d.table["segmentsConfig"].get("timeColumnName")
    dt_specs = {s["name"]: s for s in d.schema.get("dateTimeFieldSpecs", [])}
    if time_col not in dt_specs:
        problems.append(f"timeColumnName {time_col!r} must be a dateTimeFieldSpec")
    elif dt_specs[time_col].get("format") != "1:MILLISECONDS:EPOCH":
        problems.append(f"time column {time_col!r} must be epoch millis (1:MILLISECONDS:EPOCH)")
    if "timeFieldSpec" in d.schema:
        problems.append("use dateTimeFieldSpecs, not the deprecated timeFieldSpec")
    if d.table.get("tableType") == "REALTIME":
        stream = d.stream_configs
        if stream.get("stream.kafka.isolation.level") != "read_committed":
            problems.append("REALTIME tables must read Kafka with isolation level read_committed")
        if stream.get("stream.kafka.consumer.prop.auto.offset.reset") != "smallest":
            problems.append(
                "offset reset must be 'smallest' so rows produced before the table exist are kept"
            )
    pk = d.schema.get("primaryKeyColumns")
    if ("upsertConfig" in d.table or "dedupConfig" in d.table) and not pk:
        problems.append("upsert/dedup tables need primaryKeyColumns in the schema")
    if problems:
        raise PinotTableError(f"pinot/{d.name}: " + "; ".join(problems))


def with_overrides(
    d: TableDefinition, settings: Settings, *, table_name: str | None = None, topic: str | None = None
) -> TableDefinition:
    """The definition bound to this stack's Kafka, optionally renamed (tests use a fresh table per test)."""
    schema, table = copy.deepcopy(d.schema), copy.deepcopy(d.table)
    if table_name:
        schema["schemaName"] = table_name
        table["tableName"] = table_name
        table["segmentsConfig"]["schemaName"] = table_name
    stream = table["tableIndexConfig"]["streamConfigs"]
    stream["stream.kafka.broker.list"] = settings.kafka_bootstrap
    if topic:
        stream["stream.kafka.topic.name"] = topic
    return TableDefinition(schema, table)


def create(d: TableDefinition, settings: Settings) -> None:
    """Create (or update) the schema, then create the table unless it exists. Idempotent."""
    base = settings.pinot_controller_url
    with httpx.Client(base_url=base, timeout=30.0) as client:
        r = client.post("/schemas", params={"override": "true"}, json=d.schema)
        _check(r, f"adding schema {d.name}")
        existing = client.get("/tables", params={"type": "realtime"}).json().get("tables", [])
        if d.name in existing:
            return
        r = client.post("/tables", json=d.table)
        if r.status_code == 409:  # created concurrently by someone else: fine
            return
        _check(r, f"creating table {d.name}")


def drop(name: str, settings: Settings, timeout_s: float = 120.0) -> None:
    """Drop REALTIME table `name` and its schema; see `drop_all`."""
    drop_all([name], settings, timeout_s)


def drop_all(names: Iterable[str], settings: Settings, timeout_s: float = 120.0) -> None:
    """Drop the REALTIME tables `names` and their schemas, and return once no server holds any of them.

    The controller answers the DELETE at once and each server removes the table later, from a Helix
    message. A table created again under the same name before that is half-made on Pinot 0.11: the
    server consumes its segments but has no table for them, so every query fails with ServerTableMissing
    and consumingSegmentsInfo answers 404 (seen in `rta backfill` after a failed attempt).
    A server lets a table go only after closing its consuming segments one at a time, each waiting out
    the consumer's fetch timeout (5 s by default): about 10 s a table. So every table is dropped before
    waiting for any, and the waits overlap.
    The controller sends that message only to servers in the table's external view, and none at all
    while it is empty (a table dropped right after its creation): such a server keeps the table until
    it restarts. So the drop first waits, up to `EXTERNAL_VIEW_WAIT_S`, for the external view to name
    every segment of the ideal state. A table that does not exist is no error.
    Raises PinotTableError on an error answer, or when a server still holds a table after `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    pending: set[tuple[str, str]] = set()  # (server admin URL, table name with type)
    with httpx.Client(base_url=settings.pinot_controller_url, timeout=60.0) as client:
        for name in names:
            pending |= {(url, f"{name}_REALTIME") for url in _servers_to_be_told(client, name)}
            r = client.delete(f"/tables/{name}", params={"type": "realtime"})
            if r.status_code not in (200, 404):
                _check(r, f"dropping table {name}")
            r = client.delete(f"/schemas/{name}")
            if r.status_code not in (200, 404):
                _check(r, f"dropping schema {name}")
    with httpx.Client(timeout=10.0) as client:
        while pending:
            held = {server: set(_server_tables(client, server)) for server in {s for s, _ in pending}}
            pending = {(server, table) for server, table in pending if table in held[server]}
            if not pending:
                return
            if time.monotonic() > deadline:
                left = ", ".join(sorted(f"{table} on {server}" for server, table in pending))
                raise PinotTableError(f"still held {timeout_s:.0f} s after their drop: {left}")
            time.sleep(0.2)


EXTERNAL_VIEW_WAIT_S = 15.0


def _servers_to_be_told(client: httpx.Client, name: str) -> list[str]:
    """The admin API of each server the controller will tell to drop REALTIME table `name`: those in
    its external view, once that names every segment of the ideal state or `EXTERNAL_VIEW_WAIT_S`
    passed (a server that is down never reports). [] for no such table."""
    r = client.get(f"/tables/{name}/idealstate", params={"tableType": "realtime"})
    if r.status_code == 404:
        return []
    _check(r, f"reading the ideal state of {name}")
    wanted = {(seg, inst) for seg, hosts in (r.json().get("REALTIME") or {}).items() for inst in hosts}
    until = time.monotonic() + EXTERNAL_VIEW_WAIT_S
    while True:
        r = client.get(f"/tables/{name}/externalview", params={"tableType": "realtime"})
        # 404 here: no external view yet (the controller answers "Table not found" for a null view)
        if r.status_code not in (200, 404):
            _check(r, f"reading the external view of {name}")
        view = (r.json().get("REALTIME") or {}) if r.status_code == 200 else {}
        seen = {(seg, inst) for seg, hosts in view.items() for inst in hosts}
        if wanted <= seen or time.monotonic() > until:
            break
        time.sleep(0.1)
    urls = []
    for instance in sorted({inst for _, inst in seen}):
        info = client.get(f"/instances/{instance}")
        _check(info, f"reading instance {instance}")
        config = info.json()
        urls.append(f"http://{config['hostName']}:{config['adminPort']}")
    return urls


def _server_tables(client: httpx.Client, server: str) -> list[str]:
    """The tables a server holds (its admin API's GET /tables); [] for a server that is gone."""
    try:
        r = client.get(f"{server}/tables")
    except httpx.TransportError:
        return []
    _check(r, f"listing the tables of {server}")
    return list(r.json().get("tables", []))


def consuming_offsets(name: str, settings: Settings) -> dict[int, int]:
    """The next offset each partition's consuming segment of REALTIME table `name` will read, from the
    controller (`GET /tables/{name}/consumingSegmentsInfo`, Pinot 0.11): the slowest replica's. A
    partition without a consuming segment on a server yet is absent."""
    with httpx.Client(base_url=settings.pinot_controller_url, timeout=30.0) as client:
        r = client.get(f"/tables/{name}/consumingSegmentsInfo")
        _check(r, f"reading the consuming segments of {name}")
    per_replica: dict[int, list[int]] = {}
    for replicas in r.json().get("_segmentToConsumingInfoMap", {}).values():
        for replica in replicas:
            for partition, offset in (replica.get("partitionToOffsetMap") or {}).items():
                per_replica.setdefault(int(partition), []).append(int(offset))
    return {partition: min(offsets) for partition, offsets in per_replica.items()}


def _check(response: httpx.Response, action: str) -> None:
    if response.status_code >= 400:
        raise PinotTableError(f"{action} failed: HTTP {response.status_code}: {response.text[:500]}")
