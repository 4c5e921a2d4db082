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


def test_views_are_recognised_with_their_comments_and_nothing_else_is() -> None:
    from flink_jobs.runner import view_definition

    statement = "-- why\n-- more why\nCREATE TEMPORARY VIEW flagged AS\nSELECT *\nFROM x -- tail\nWHERE a = 1"
    assert view_definition(statement) == ("flagged", "SELECT *\nFROM x -- tail\nWHERE a = 1")
    assert view_definition("create temporary view v as select 1") == ("v", "select 1")
    assert view_definition("CREATE TEMPORARY VIEW v (a) AS SELECT 1") is None  # a column list: SQL as is
    assert view_definition("CREATE TABLE t (x INT) WITH ('connector' = 'blackhole')") is None
    assert view_definition("INSERT INTO t SELECT 1") is None


def test_every_view_of_the_job_becomes_a_table_api_view() -> None:
    from core.settings import Settings
    from flink_jobs import pipeline
    from flink_jobs.runner import run_ddl

    class Recorder:
        def __init__(self) -> None:
            self.sql: list[str] = []
            self.views: list[str] = []

        def execute_sql(self, statement: str) -> None:
            self.sql.append(statement)

        def sql_query(self, query: str) -> str:
            return query

        def create_temporary_view(self, name: str, _: str) -> None:
            self.views.append(name)

    ddl, _ = pipeline.statements(Settings(), pipeline.Topics(), "job", "group")
    t_env = Recorder()
    run_ddl(t_env, ddl)
    assert len(t_env.views) == len(pipeline.VIEWS)
    assert not [s for s in t_env.sql if "VIEW" in s.upper().split("AS", 1)[0]]
    assert len(t_env.sql) + len(t_env.views) == len(ddl)
