import pytest

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


@pytest.mark.slow
def test_zones_the_jdk_lacks_are_named_before_a_job_is_submitted() -> None:
    # Python's tz database can be newer than the JDK's, and java.time has no "EST"-style ids: a job
    # with such a zone would dead-letter every naive timestamp, so submission refuses it.
    from flink_jobs.runner import java_zone_problem

    assert java_zone_problem("Europe/Kyiv") is None
    assert java_zone_problem("UTC") is None
    problem = java_zone_problem("EST")
    assert problem is not None
    assert "EST" in problem
