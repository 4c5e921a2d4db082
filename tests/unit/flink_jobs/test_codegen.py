import re

import pytest

from core.columns import Kind, model_columns, union_columns
from core.datasets import DATASETS, EVENTS, Mode
from core.events import EVENT_MODELS
from core.settings import Settings
from flink_jobs import codegen, pipeline


def test_generated_sql_matches_the_models() -> None:
    assert codegen.stale_files() == [], "run `rta generate` and commit the result"


@pytest.mark.parametrize("dataset", DATASETS, ids=lambda d: d.name)
def test_sink_tables_have_exactly_the_dataset_columns(dataset: codegen.Dataset) -> None:
    ddl = codegen.sink_ddl(dataset)
    declared = re.findall(r"^  `(\w+)` (\w+)", ddl, flags=re.MULTILINE)
    assert [name for name, _ in declared] == [c.name for c in dataset.columns]
    assert ("PRIMARY KEY" in ddl) == (dataset.mode is Mode.UPSERT)


def test_events_dataset_is_the_event_models_plus_acceptance_columns() -> None:
    names = [c.name for c in EVENTS.columns]
    assert names[: len(union_columns(EVENT_MODELS, "event_type"))] == [
        c.name for c in union_columns(EVENT_MODELS, "event_type")
    ]
    assert names[-2:] == ["is_late", "ingest_time"]


def test_union_columns_know_which_event_types_need_a_field() -> None:
    by_name = {c.name: c for c in union_columns(EVENT_MODELS, "event_type")}
    assert by_name["order_id"].required_for == {"purchase"}
    assert by_name["quantity"].required_for == {"add_to_cart", "purchase"}
    assert by_name["referrer_url"].required_for == set()
    assert by_name["referrer_url"].present_in == {"page_view"}
    assert by_name["referrer_url"].max_length == 512
    assert by_name["event_timestamp"].kind is Kind.EPOCH_MILLIS
    assert not by_name["user_id"].nullable
    assert by_name["price"].nullable


def test_every_placeholder_is_filled_and_every_statement_is_rendered() -> None:
    ddl, inserts = pipeline.statements(Settings(), pipeline.Topics(), "job", "group")
    assert len(inserts) == len(DATASETS)
    for statement in [*ddl, *inserts]:
        assert "${" not in statement


def test_unknown_placeholder_is_an_error(tmp_path: object) -> None:
    with pytest.raises(KeyError, match="contract_arguments"):
        pipeline.read_sql("source_raw_events", {})


def test_quarantined_records_reach_parse_event_as_one_json_literal() -> None:
    literal = pipeline.quarantine_literal([pipeline.Quarantined(2, 17, "it's the one")])
    assert literal == """'[{"partition":2,"offset":17,"reason":"it''s the one"}]'"""
    assert pipeline.quarantine_literal([]) == "''"
    ddl, _ = pipeline.statements(
        Settings(), pipeline.Topics(), "job", "group", quarantine=[pipeline.Quarantined(0, 5, "x")]
    )
    assert any('"offset":5' in statement and "PARSE_EVENT" in statement for statement in ddl)


def test_sinks_are_exactly_once_with_a_transaction_timeout_below_the_brokers_maximum() -> None:
    settings = Settings()
    for dataset in DATASETS:
        options = pipeline.sink_options(settings, dataset, "t", "job")
        assert options["sink.delivery-guarantee"] == "exactly-once"
        assert options["sink.transactional-id-prefix"] == f"job.{dataset.name}"
        assert int(options["properties.transaction.timeout.ms"]) < 900_000


def test_interval_literals_carry_hours_and_days() -> None:
    assert pipeline.interval(5) == "INTERVAL '0 00:00:05' DAY TO SECOND"
    assert pipeline.interval(90_061) == "INTERVAL '1 01:01:01' DAY TO SECOND"


def test_metric_models_only_use_kinds_the_engines_know() -> None:
    for dataset in DATASETS:
        assert {c.kind for c in dataset.columns} <= set(codegen.FLINK_TYPES)
    assert next(c.name for c in model_columns(EVENT_MODELS[0])) == "event_id"


def test_every_dataset_has_its_insert_and_the_job_writes_every_sink() -> None:
    for name in pipeline.INSERTS:
        assert (pipeline.SQL_DIR / f"{name}.sql").is_file(), f"write flink_jobs/sql/{name}.sql"
    _, inserts = pipeline.statements(Settings(), pipeline.Topics(), "job", "group")
    targets = [re.search(r"INSERT INTO (\w+)", i).group(1) for i in inserts]  # type: ignore[union-attr]
    assert targets == [d.name for d in DATASETS]


def test_the_hopping_window_in_sql_is_the_one_the_model_declares() -> None:
    from core.metrics import ActiveUsersSliding

    sql = (pipeline.SQL_DIR / "view_sliding_events.sql").read_text()
    slide, size = re.findall(r"INTERVAL '(\d+)' MINUTE", sql)
    assert (int(slide), int(size)) == (
        ActiveUsersSliding.slide.total_seconds() // 60,
        ActiveUsersSliding.size.total_seconds() // 60,
    )
    insert = (pipeline.SQL_DIR / "insert_active_users_sliding.sql").read_text()
    assert (
        f"window_start_ms + {int(ActiveUsersSliding.size.total_seconds() * 1000)} AS `window_end`" in insert
    )


def test_the_job_names_its_state_backend_and_the_distinct_count_made_for_it() -> None:
    def distinct_count(ddl: list[str]) -> str:
        (function,) = [s for s in ddl if "FUNCTION DISTINCT_COUNT" in s]
        return function.split("AS '", 1)[1].split("'", 1)[0]

    settings = Settings(flink_state_backend="rocksdb")
    ddl, _ = pipeline.statements(settings, pipeline.Topics(), "job", "group")
    assert distinct_count(ddl) == "rta.udf.DistinctCountView"  # one RocksDB entry per value
    config = pipeline.job_config(settings)
    assert (config["state.backend.type"], config["execution.checkpointing.incremental"]) == (
        "rocksdb",
        "true",
    )

    ddl, _ = pipeline.statements(settings, pipeline.Topics(), "job", "group", state_backend="hashmap")
    assert distinct_count(ddl) == "rta.udf.DistinctCount"  # one set in one heap value
    config = pipeline.job_config(settings, "hashmap")
    assert (config["state.backend.type"], config["execution.checkpointing.incremental"]) == (
        "hashmap",
        "false",
    )
