from core.settings import Settings
from flink_jobs.runner import kafka_source_options, with_clause


def test_with_clause_quotes_values_as_sql_literals() -> None:
    clause = with_clause({"topic": "it's", "format": "json"})
    assert "'topic' = 'it''s'" in clause
    assert clause.startswith("WITH (")
    assert clause.endswith(")")


def test_sources_read_committed_from_the_group_offsets_else_from_the_start() -> None:
    opts = kafka_source_options(Settings(), "events", "g1")
    assert opts["properties.isolation.level"] == "read_committed"
    assert opts["scan.startup.mode"] == "group-offsets"
    assert opts["properties.auto.offset.reset"] == "earliest"
    assert opts["properties.group.id"] == "g1"
    assert opts["properties.bootstrap.servers"] == "127.0.0.1:9092"
