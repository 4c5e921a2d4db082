import copy

import httpx
import pytest

from core.settings import Settings
from provisioning import pinot_tables
from provisioning.pinot_tables import PinotTableError, TableDefinition


@pytest.mark.parametrize("name", pinot_tables.table_names())
def test_every_table_folder_is_valid(name: str) -> None:
    assert pinot_tables.load(name).name == name


def test_overrides_bind_kafka_and_rename_consistently() -> None:
    original = pinot_tables.load("stack_probe")
    d = pinot_tables.with_overrides(
        original, Settings(port_offset=100), table_name="probe_x", topic="topic_x"
    )
    assert d.name == d.schema["schemaName"] == d.table["segmentsConfig"]["schemaName"] == "probe_x"
    assert d.topic == "topic_x"
    assert d.stream_configs["stream.kafka.broker.list"] == "127.0.0.1:9192"
    assert original.name == "stack_probe", "overrides must not change the loaded definition"


def test_uncommitted_reads_are_rejected() -> None:
    d = pinot_tables.load("stack_probe")
    table = copy.deepcopy(d.table)
    del table["tableIndexConfig"]["streamConfigs"]["stream.kafka.isolation.level"]
    with pytest.raises(PinotTableError, match="read_committed"):
        pinot_tables.validate(TableDefinition(d.schema, table))


def test_time_column_must_be_epoch_millis() -> None:
    d = pinot_tables.load("stack_probe")
    schema = copy.deepcopy(d.schema)
    schema["dateTimeFieldSpecs"][0]["format"] = "1:SECONDS:EPOCH"
    with pytest.raises(PinotTableError, match="epoch millis"):
        pinot_tables.validate(TableDefinition(schema, d.table))


class FakePinot:
    """A controller and one server admin API (httpx.MockTransport) as Pinot 0.11 answers them: a view
    filled after `view_after` reads, a drop message only to live servers in the view, and the server
    letting the table go `release_after` polls later. `ghost` is a dead instance the ideal state names."""

    def __init__(self, *, view_after: int = 0, release_after: int = 1, ghost: bool = False) -> None:
        self.tables = {"t1"}
        self.view_reads = 0
        self.view_after = view_after
        self.release_after = release_after
        self.server_tables = {"t1_REALTIME"}
        self.told: set[str] = set()
        self.polls = 0
        self.deleted: list[str] = []
        self.hosts = ["Server_a", "Server_ghost"] if ghost else ["Server_a"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/zk/ls":
            return httpx.Response(200, json=["Server_a", "Broker_b"])
        if path == "/tables/t1/idealstate" and "t1" in self.tables:
            return httpx.Response(
                200, json={"OFFLINE": None, "REALTIME": {"t1__0": {h: "CONSUMING" for h in self.hosts}}}
            )
        if path == "/tables/t1/externalview" and "t1" in self.tables:
            self.view_reads += 1
            filled = self.view_reads > self.view_after
            return httpx.Response(
                200,
                json={"OFFLINE": None, "REALTIME": {"t1__0": {"Server_a": "CONSUMING"}} if filled else {}},
            )
        if path == "/instances/Server_a":
            return httpx.Response(200, json={"hostName": "srv", "adminPort": 8097})
        if request.method == "DELETE" and path == "/tables/t1":
            self.deleted.append(path)
            self.tables.discard("t1")
            if self.view_reads > self.view_after:  # the controller tells the servers in the view
                self.told.add("Server_a")
            return httpx.Response(200, json={"status": "deleted"})
        if request.method == "DELETE" and path.startswith("/schemas/"):
            self.deleted.append(path)
            return httpx.Response(200, json={})
        if request.url.host == "srv" and path == "/tables":
            self.polls += 1
            if "Server_a" in self.told and self.polls > self.release_after:
                self.server_tables.discard("t1_REALTIME")
            return httpx.Response(200, json={"tables": sorted(self.server_tables)})
        return httpx.Response(404, json={"code": 404, "error": "Table not found"})


def _drop(fake: FakePinot, names: list[str], timeout_s: float = 5.0) -> None:
    pinot_tables.drop_all(names, Settings(), timeout_s, transport=httpx.MockTransport(fake.handle))


def test_drop_returns_once_the_server_let_the_table_go() -> None:
    fake = FakePinot(release_after=3)
    _drop(fake, ["t1"])
    assert fake.deleted == ["/tables/t1", "/schemas/t1"]
    assert fake.polls == 4
    assert fake.server_tables == set()


def test_drop_waits_for_the_external_view_before_deleting() -> None:
    """An empty view at the DELETE means no drop message: the server would keep the table."""
    fake = FakePinot(view_after=3)
    _drop(fake, ["t1"])
    assert fake.view_reads == 4
    assert fake.told == {"Server_a"}
    assert fake.server_tables == set()


def test_a_view_that_never_fills_drops_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinot_tables, "EXTERNAL_VIEW_WAIT_S", 0.3)
    fake = FakePinot(view_after=10**6)
    with pytest.raises(PinotTableError, match=r"nothing dropped.*Server_a"):
        _drop(fake, ["t1"])
    assert fake.deleted == []
    assert fake.tables == {"t1"}


def test_a_dead_instance_in_the_ideal_state_is_not_waited_for() -> None:
    fake = FakePinot(ghost=True)
    _drop(fake, ["t1"])
    assert fake.view_reads == 1
    assert fake.server_tables == set()


def test_a_missing_table_is_no_error() -> None:
    fake = FakePinot()
    _drop(fake, ["other"])
    assert fake.deleted == ["/schemas/other"]
    assert fake.tables == {"t1"}


def test_a_server_still_holding_the_table_is_reported() -> None:
    fake = FakePinot(release_after=10**6)
    with pytest.raises(PinotTableError, match="t1_REALTIME on http://srv:8097"):
        _drop(fake, ["t1"], timeout_s=0.5)
