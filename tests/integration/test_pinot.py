import time
from pathlib import Path

import httpx
import pinotdb

from core.settings import Settings
from provisioning import pinot_tables
from stack.engines.pinot import Pinot
from tests.support.builders import json_producer, new_topic, produce, unique
from tests.support.polling import poll_until


def _count_and_sum(settings: Settings, table: str) -> tuple[int, int]:
    conn = pinotdb.connect(
        host=settings.host, port=settings.port(settings.pinot_broker_port), path="/query/sql", scheme="http"
    )
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT COUNT(*), SUM(value) FROM {table}")  # table name comes from unique(), not a user
        row = cur.fetchone()
        if row is None:  # a new table whose consuming segments are not assigned yet has no row at all
            return 0, 0
        count, total = row
        return int(count), int(total or 0)
    finally:
        conn.close()


def test_realtime_table_from_pinot_folder_ingests_committed_records_only(settings: Settings) -> None:
    topic = new_topic(settings, "pinot_in", partitions=2)
    table = unique("probe")
    now = int(time.time() * 1000)
    before = [
        (f"p{i}", {"probe_id": f"p{i}", "source": "before", "value": i, "ts": now + i}) for i in range(150)
    ]
    produce(
        settings, topic, before
    )  # before the table exists: must still be ingested (offset reset smallest)

    definition = pinot_tables.with_overrides(
        pinot_tables.load("stack_probe"), settings, table_name=table, topic=topic
    )
    pinot_tables.create(definition, settings)
    pinot_tables.create(definition, settings)  # idempotent
    try:
        producer = json_producer(settings, transactional_id=f"{topic}-tx")
        producer.init_transactions()
        producer.begin_transaction()
        for i in range(40):
            producer.send(
                topic, key=f"x{i}", value={"probe_id": f"x{i}", "source": "aborted", "value": 1000, "ts": now}
            )
        producer.abort_transaction()
        producer.begin_transaction()
        for i in range(50):
            producer.send(
                topic, key=f"c{i}", value={"probe_id": f"c{i}", "source": "committed", "value": i, "ts": now}
            )
        producer.commit_transaction()
        producer.close()

        expected_count = 150 + 50
        expected_sum = sum(range(150)) + sum(range(50))
        count, total = poll_until(
            lambda: _count_and_sum(settings, table),
            lambda r: r[0] >= expected_count,
            timeout_s=120,
            what=f"{expected_count} rows in {table}",
        )
        assert (count, total) == (expected_count, expected_sum), "aborted records must not be ingested"
    finally:
        pinot_tables.drop(table, settings)


def _segment_hosts(settings: Settings, table: str) -> set[str]:
    ideal = httpx.get(f"{settings.pinot_controller_url}/tables/{table}/idealstate").json()["REALTIME"]
    return {host for replicas in ideal.values() for host in replicas}


def test_a_dead_instance_from_other_ports_gets_segments_until_the_stack_forgets_it(
    settings: Settings,
) -> None:
    """A run directory reused with other ports leaves the old instances in ZooKeeper: Helix assigns new
    tables' consuming segments to a dead, enabled server, and those partitions are never read. Starting
    Pinot forgets them (stack/engines/pinot.py); one still named by a table is reported, not dropped."""
    stale = "Server_localhost_1"
    r = httpx.post(
        f"{settings.pinot_controller_url}/instances",
        json={"host": "localhost", "port": "1", "type": "SERVER", "tags": ["DefaultTenant_REALTIME"]},
    )
    assert r.status_code == 200, r.text
    engine = Pinot(settings, java_home=Path("/unused"))
    topic = new_topic(settings, "pinot_stale", partitions=3)
    table = unique("stale")
    pinot_tables.create(
        pinot_tables.with_overrides(
            pinot_tables.load("stack_probe"), settings, table_name=table, topic=topic
        ),
        settings,
    )
    try:
        assert stale in _segment_hosts(settings, table)  # the trap: a partition nobody consumes
        assert engine.forget_stale_instances() == ([], [stale])  # Pinot refuses: the table names it
    finally:
        pinot_tables.drop(table, settings)
    assert engine.forget_stale_instances() == ([stale], [])
    instances = httpx.get(f"{settings.pinot_controller_url}/instances").json()["instances"]
    assert stale not in instances
    assert set(engine.own_instances()) <= set(instances)


def _count_once_routed(settings: Settings, table: str) -> tuple[int, int]:
    """As _count_and_sum, with (0, 0) while the broker does not route the new table yet (error 410).
    Any other error, ServerTableMissing (230) included, fails the test."""
    try:
        return _count_and_sum(settings, table)
    except pinotdb.exceptions.DatabaseError as exc:
        if "BrokerResourceMissingError" in str(exc):
            return 0, 0
        raise


def test_a_table_dropped_and_created_again_at_once_answers_from_its_new_rows(settings: Settings) -> None:
    """Pinot 0.11 removes a dropped table from each server later, from a Helix message: a table created
    again under the same name before that had segments consuming on a server that no longer knew the
    table (every query: ServerTableMissing). `drop` returns only once the servers let it go."""
    table = unique("again")
    now = int(time.time() * 1000)
    for attempt, rows in enumerate((30, 12)):
        topic = new_topic(settings, f"again{attempt}", partitions=3)
        produce(
            settings,
            topic,
            [(f"r{i}", {"probe_id": f"r{i}", "source": "x", "value": i, "ts": now}) for i in range(rows)],
        )
        definition = pinot_tables.with_overrides(
            pinot_tables.load("stack_probe"), settings, table_name=table, topic=topic
        )
        pinot_tables.create(definition, settings)
        counted = poll_until(
            lambda: _count_once_routed(settings, table),
            lambda r, rows=rows: r[0] >= rows,
            timeout_s=120,
            what=f"{rows} rows in {table} (attempt {attempt})",
        )
        assert counted == (rows, sum(range(rows)))
        pinot_tables.drop(table, settings)
        servers = httpx.get(
            f"http://{settings.host}:{settings.port(settings.pinot_server_admin_port)}/tables"
        )
        assert f"{table}_REALTIME" not in servers.json()["tables"]


def test_tables_dropped_right_after_their_creation_leave_no_server_holding_them(settings: Settings) -> None:
    """Pinot 0.11 sends the server no drop message for a table whose external view is still empty, and
    the server then keeps the table until it restarts. `drop_all` waits for the view first, drops every
    table before waiting on any, and returns once the server has let each go."""
    tables = [unique(f"fresh{i}") for i in range(3)]
    for table in tables:
        topic = new_topic(settings, table, partitions=3)
        pinot_tables.create(
            pinot_tables.with_overrides(
                pinot_tables.load("stack_probe"), settings, table_name=table, topic=topic
            ),
            settings,
        )
    pinot_tables.drop_all(tables, settings)
    held = httpx.get(
        f"http://{settings.host}:{settings.port(settings.pinot_server_admin_port)}/tables"
    ).json()["tables"]
    assert not {f"{t}_REALTIME" for t in tables} & set(held), held
