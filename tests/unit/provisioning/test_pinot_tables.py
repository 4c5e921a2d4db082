import copy

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
