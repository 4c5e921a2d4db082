from core.settings import Settings
from flink_jobs.pipeline import referrer_host_sql
from flink_jobs.runner import FlinkRest, kafka_sink_options, kafka_source_options, submit, with_clause
from tests.integration.builders import consume, new_topic, produce, unique
from tests.support.polling import poll_until
from tests.vectors import referrer_vectors


def test_flink_sql_job_reads_one_kafka_topic_and_writes_another(settings: Settings) -> None:
    source, sink = new_topic(settings, "flink_in"), new_topic(settings, "flink_out")
    orders = [{"id": f"o-{i}", "amount": i, "category": ["books", "games", "toys"][i % 3]} for i in range(60)]
    produce(settings, source, [(o["id"], o) for o in orders])
    expected = {
        o["id"]: {"id": o["id"], "amount_x2": o["amount"] * 2, "category": o["category"].upper()}
        for o in orders
        if o["amount"] % 2 == 0
    }

    ddl = [
        "CREATE TABLE src (id STRING, amount INT, category STRING) "
        + with_clause(kafka_source_options(settings, source, unique("flink_g"), format="json")),
        "CREATE TABLE dst (id STRING, amount_x2 INT, category STRING) "
        + with_clause(
            kafka_sink_options(
                settings, sink, **{"key.format": "json", "key.fields": "id", "value.format": "json"}
            )
        ),
    ]
    insert = "INSERT INTO dst SELECT id, amount * 2, UPPER(category) FROM src WHERE MOD(amount, 2) = 0"
    job_id = submit(settings, unique("smoke"), ddl, [insert])
    try:
        with FlinkRest(settings) as rest:
            poll_until(lambda: rest.state(job_id), lambda s: s == "RUNNING", timeout_s=60, what="job RUNNING")
        got = consume(settings, sink, expected=len(expected), timeout_s=120)
    finally:
        with FlinkRest(settings) as rest:
            rest.cancel(job_id)

    assert {c.value["id"]: c.value for c in got} == expected
    assert len(got) == len(expected), "no record may be written twice"
    assert all(c.key == f'{{"id":"{c.value["id"]}"}}' for c in got), "sink must key records by id"


def test_flink_finds_the_referrer_host_of_each_shared_vector(settings: Settings) -> None:
    """The job's SQL for core/referrers.py (REGEXP_EXTRACT, Java's regex) agrees with Python's on the
    vectors tests/unit/core/test_referrers.py checks."""
    vectors = referrer_vectors()
    source, sink = new_topic(settings, "ref_in"), new_topic(settings, "ref_out")
    produce(
        settings, source, [(str(i), {"id": str(i), "url": v["referrer_url"]}) for i, v in enumerate(vectors)]
    )
    ddl = [
        "CREATE TABLE src (id STRING, url STRING) "
        + with_clause(kafka_source_options(settings, source, unique("ref_g"), format="json")),
        "CREATE TABLE dst (id STRING, host STRING) "
        + with_clause(
            kafka_sink_options(
                settings, sink, **{"key.format": "json", "key.fields": "id", "value.format": "json"}
            )
        ),
    ]
    insert = f"INSERT INTO dst SELECT id, {referrer_host_sql('url')} FROM src"
    job_id = submit(settings, unique("referrers"), ddl, [insert])
    try:
        got = consume(settings, sink, expected=len(vectors), timeout_s=120)
    finally:
        with FlinkRest(settings) as rest:
            rest.cancel(job_id)
    assert {c.value["id"]: c.value["host"] for c in got} == {str(i): v["host"] for i, v in enumerate(vectors)}
