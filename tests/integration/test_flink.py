from collections.abc import Iterator
from contextlib import contextmanager

from core.settings import Settings
from flink_jobs.pipeline import referrer_host_sql
from flink_jobs.runner import FlinkRest, kafka_sink_options, kafka_source_options, submit, with_clause
from tests.integration.builders import Consumed, consume, new_topic, produce, unique
from tests.support.polling import poll_until
from tests.vectors import referrer_vectors


@contextmanager
def json_job(
    settings: Settings, source: str, sink: str, columns: tuple[str, str], insert: str
) -> Iterator[str]:
    """A Flink SQL job from JSON topic `source` (table `src`) to JSON topic `sink` (table `dst`, keyed by
    `id`), running `insert`; `columns` are the two tables' column lists. Cancelled afterwards."""
    ddl = [
        f"CREATE TABLE src ({columns[0]}) "
        + with_clause(kafka_source_options(settings, source, unique("flink_g"), format="json")),
        f"CREATE TABLE dst ({columns[1]}) "
        + with_clause(
            kafka_sink_options(
                settings, sink, **{"key.format": "json", "key.fields": "id", "value.format": "json"}
            )
        ),
    ]
    job_id = submit(settings, unique("flink_job"), ddl, [insert])
    try:
        yield job_id
    finally:
        with FlinkRest(settings) as rest:
            rest.cancel(job_id)


def test_flink_sql_job_reads_one_kafka_topic_and_writes_another(settings: Settings) -> None:
    source, sink = new_topic(settings, "flink_in"), new_topic(settings, "flink_out")
    orders = [{"id": f"o-{i}", "amount": i, "category": ["books", "games", "toys"][i % 3]} for i in range(60)]
    produce(settings, source, [(o["id"], o) for o in orders])
    expected = {
        o["id"]: {"id": o["id"], "amount_x2": o["amount"] * 2, "category": o["category"].upper()}
        for o in orders
        if o["amount"] % 2 == 0
    }
    columns = ("id STRING, amount INT, category STRING", "id STRING, amount_x2 INT, category STRING")
    insert = "INSERT INTO dst SELECT id, amount * 2, UPPER(category) FROM src WHERE MOD(amount, 2) = 0"
    with json_job(settings, source, sink, columns, insert) as job_id:
        with FlinkRest(settings) as rest:
            poll_until(lambda: rest.state(job_id), lambda s: s == "RUNNING", timeout_s=60, what="job RUNNING")
        got: list[Consumed] = consume(settings, sink, expected=len(expected), timeout_s=120)

    assert {c.value["id"]: c.value for c in got} == expected
    assert len(got) == len(expected), "no record may be written twice"
    assert all(c.key == f'{{"id":"{c.value["id"]}"}}' for c in got), "sink must key records by id"


def test_flink_finds_the_referrer_host_of_each_shared_vector(settings: Settings) -> None:
    """The job's SQL for core/referrers.py (REGEXP_EXTRACT, Java's regex) agrees with Python's on the
    vectors tests/unit/core/test_referrers.py checks."""
    vectors = referrer_vectors()
    source, sink = new_topic(settings, "ref_in"), new_topic(settings, "ref_out")
    records = [(str(i), {"id": str(i), "url": v["referrer_url"]}) for i, v in enumerate(vectors)]
    produce(settings, source, records)
    insert = f"INSERT INTO dst SELECT id, {referrer_host_sql('url')} FROM src"
    with json_job(settings, source, sink, ("id STRING, url STRING", "id STRING, host STRING"), insert):
        got = consume(settings, sink, expected=len(vectors), timeout_s=120)
    assert {c.value["id"]: c.value["host"] for c in got} == {str(i): v["host"] for i, v in enumerate(vectors)}
