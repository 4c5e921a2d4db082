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


EXTERNAL_VIEW_WAIT_S = 15.0


def drop_all(
    names: Iterable[str],
    settings: Settings,
    timeout_s: float = 120.0,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Drop the REALTIME tables `names` and their schemas, and return once no server holds any of them.

    The controller answers the DELETE at once and each server removes the table later, from a Helix
    message. A table created again under the same name before that is half-made on Pinot 0.11: the
    server consumes its segments but has no table for them, so every query fails with ServerTableMissing
    and consumingSegmentsInfo answers 404 (seen in `rta backfill` after a failed attempt).
    A server lets a table go only after closing its consuming segments one at a time, each waiting out
    the consumer's fetch timeout (5 s by default): about 10 s a table. So every table is dropped before
    waiting for any, and the waits overlap.
    The controller sends that message only to live servers named in the table's external view
    (PinotHelixResourceManager.deleteTableOnServer, Helix's CriteriaEvaluator), none while the view is
    empty (a table dropped right after its creation): such a server would keep the table until it
    restarts. So the drop first waits, up to `EXTERNAL_VIEW_WAIT_S` for all tables together, until each
    view names every (segment, live server) pair of its ideal state. A table that does not exist is no
    error. `transport` is for tests (httpx.MockTransport).
    Raises PinotTableError on an error answer; when a view is still missing a live server after the
    wait (nothing is dropped then, so a retry can succeed); or when a server still holds a table
    `timeout_s` after the drops.
    """
    names = list(names)
    with httpx.Client(base_url=settings.pinot_controller_url, timeout=60.0, transport=transport) as client:
        live = live_instances(client, settings)
        wanted = {name: pairs for name in names if (pairs := _ideal_pairs(client, name, live)) is not None}
        seen = _wait_for_external_views(client, wanted)
        missing = {name: sorted(pairs - seen[name]) for name, pairs in wanted.items() if pairs - seen[name]}
        if missing:
            raise PinotTableError(
                f"the external view still lacks live servers {EXTERNAL_VIEW_WAIT_S:.0f} s on, so they would "
                f"never be told to drop (nothing dropped): {missing}"
            )
        admin = {
            inst: _admin_url(client, inst) for pairs in seen.values() for _, inst in pairs if inst in live
        }
        pending = {
            (admin[inst], f"{name}_REALTIME")
            for name, pairs in seen.items()
            for _, inst in pairs
            if inst in admin
        }
        for name in names:
            r = client.delete(f"/tables/{name}", params={"type": "realtime"})
            if r.status_code not in (200, 404):
                _check(r, f"dropping table {name}")
            r = client.delete(f"/schemas/{name}")
            if r.status_code not in (200, 404):
                _check(r, f"dropping schema {name}")
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=10.0, transport=transport) as client:
        while pending:
            held = {server: _server_tables(client, server) for server in {s for s, _ in pending}}
            # a server that did not answer in time (None) may still hold its tables
            pending = {(srv, t) for srv, t in pending if (tables := held[srv]) is None or t in tables}
            if not pending:
                return
            if time.monotonic() > deadline:
                left = ", ".join(sorted(f"{table} on {server}" for server, table in pending))
                raise PinotTableError(f"still held {timeout_s:.0f} s after their drop: {left}")
            time.sleep(0.2)


def live_instances(client: httpx.Client, settings: Settings) -> set[str]:
    """The cluster's live Helix instances (servers, brokers, controllers), through the controller
    `client`'s ZooKeeper browser: the ones that report, as Helix itself counts them."""
    r = client.get("/zk/ls", params={"path": f"/{settings.pinot_cluster}/LIVEINSTANCES"})
    _check(r, "listing the live instances")
    return set(r.json())


def _ideal_pairs(client: httpx.Client, name: str, live: set[str]) -> set[tuple[str, str]] | None:
    """The (segment, instance) pairs of REALTIME table `name`'s ideal state whose instance is live; None
    for no such table. A dead instance (one left in ZooKeeper by an old run) never reports."""
    r = client.get(f"/tables/{name}/idealstate", params={"tableType": "realtime"})
    if r.status_code == 404:
        return None
    _check(r, f"reading the ideal state of {name}")
    ideal = r.json().get("REALTIME") or {}
    return {(seg, inst) for seg, hosts in ideal.items() for inst in hosts if inst in live}


def _wait_for_external_views(
    client: httpx.Client, wanted: dict[str, set[tuple[str, str]]]
) -> dict[str, set[tuple[str, str]]]:
    """Each table's external view as (segment, instance) pairs, read until it holds the `wanted` pairs
    or `EXTERNAL_VIEW_WAIT_S` passed."""
    seen: dict[str, set[tuple[str, str]]] = {name: set() for name in wanted}
    until = time.monotonic() + EXTERNAL_VIEW_WAIT_S
    while True:
        for name in wanted:
            if wanted[name] <= seen[name]:
                continue
            r = client.get(f"/tables/{name}/externalview", params={"tableType": "realtime"})
            # 404: no external view yet (the controller answers "Table not found" for a null view)
            if r.status_code not in (200, 404):
                _check(r, f"reading the external view of {name}")
            view = (r.json().get("REALTIME") or {}) if r.status_code == 200 else {}
            seen[name] = {(seg, inst) for seg, hosts in view.items() for inst in hosts}
        if all(wanted[name] <= seen[name] for name in wanted) or time.monotonic() > until:
            return seen
        time.sleep(0.1)


def _admin_url(client: httpx.Client, instance: str) -> str:
    info = client.get(f"/instances/{instance}")
    _check(info, f"reading instance {instance}")
    config = info.json()
    return f"http://{config['hostName']}:{config['adminPort']}"


def _server_tables(client: httpx.Client, server: str) -> list[str] | None:
    """The tables a server holds (its admin API's GET /tables): [] for a server that is gone, None for
    one that did not answer in time."""
    try:
        r = client.get(f"{server}/tables")
    except httpx.ConnectError:
        return []
    except httpx.TimeoutException:
        return None
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
