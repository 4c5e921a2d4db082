from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx

from core.settings import Settings
from flink_jobs.pipeline import SQL_DIR, referrer_host_sql
from flink_jobs.runner import FlinkRest, kafka_sink_options, kafka_source_options, submit, with_clause
from tests.support.builders import Consumed, consume, new_topic, produce, unique
from tests.support.polling import poll_until
from tests.vectors import referrer_vectors


@contextmanager
def json_job(
    settings: Settings,
    source: str,
    sink: str,
    columns: tuple[str, str],
    insert: str,
    extra_ddl: Sequence[str] = (),
    config: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """A Flink SQL job from JSON topic `source` (table `src`) to JSON topic `sink` (table `dst`, keyed by
    `id`), running `insert` after `extra_ddl` (functions, views); `columns` are the two tables' column
    lists. Cancelled afterwards."""
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
    job_id = submit(settings, unique("flink_job"), [*ddl, *extra_ddl], [insert], config=config)
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


def _input_watermark(settings: Settings, job_id: str) -> int:
    """The highest input watermark (epoch ms) any operator of the job has reached (sources have none)."""
    with httpx.Client(base_url=settings.flink_rest_url, timeout=10.0) as rest:
        marks = [
            int(float(m["value"]))
            for vertex in rest.get(f"/jobs/{job_id}").json()["vertices"]
            for m in rest.get(f"/jobs/{job_id}/vertices/{vertex['id']}/watermarks").json()
            if m["id"].endswith("currentInputWatermark")
        ]
    return max(marks, default=-(2**63))


def test_visits_take_late_events_and_forget_a_user_once_the_watermark_passes_the_horizon(
    settings: Settings,
) -> None:
    """rta.udf.Visits on the real Flink: rows behind the watermark still reach it (a process table
    function with on_time would drop them), and its event-time timer clears a user's visits."""
    source, sink = new_topic(settings, "visits_in", partitions=1), new_topic(settings, "visits_out")
    minute = 60_000
    t0 = 1_800_000_000_000
    sent = 0

    def send(user: str, at: int) -> None:
        nonlocal sent
        sent += 1
        event = {"id": f"e{sent}", "user_id": user, "event_type": "page_view", "event_timestamp": at}
        produce(settings, source, [("one-partition", event)])

    columns = (
        "id STRING, user_id STRING, event_type STRING, event_timestamp BIGINT,"
        " ts AS TO_TIMESTAMP_LTZ(event_timestamp, 3), WATERMARK FOR ts AS ts",
        "id STRING, user_id STRING, visit_start BIGINT, events BIGINT, superseded BOOLEAN",
    )
    view = "CREATE TEMPORARY VIEW visit_events AS SELECT user_id, event_type, event_timestamp FROM src"
    row_id = "CONCAT(user_id, '@', CAST(visit_start AS STRING), '#', CAST(version AS STRING))"
    insert = (
        f"INSERT INTO dst SELECT {row_id}, user_id, visit_start, events, superseded"
        " FROM VISITS(input => TABLE visit_events PARTITION BY user_id,"
        f" gap_ms => CAST({minute} AS BIGINT), horizon_ms => CAST({2 * minute} AS BIGINT), uid => 'visits')"
    )
    ddl = [(SQL_DIR / "function_visits.sql").read_text(), view]
    with json_job(settings, source, sink, columns, insert, ddl, {"parallelism.default": "1"}) as job:
        send("a", t0)
        send("c", t0 + 9 * minute)
        send("b", t0 + 10 * minute)  # the watermark passes a's newest event + the horizon
        poll_until(
            lambda: _input_watermark(settings, job),
            lambda mark: mark >= t0 + 10 * minute,
            timeout_s=120,
            what="the watermark at b's event",
        )
        send("c", t0 + 9 * minute + 30_000)  # behind the watermark, within c's horizon: joins c's visit
        send("a", t0 + 30_000)  # behind the watermark; a was forgotten: a visit of its own
        got = consume(settings, sink, expected=5, timeout_s=120)
    rows = {c.value["id"]: (c.value["events"], c.value["superseded"]) for c in got}
    assert rows == {
        f"a@{t0}#1": (1, False),
        f"c@{t0 + 9 * minute}#1": (1, False),
        f"b@{t0 + 10 * minute}#1": (1, False),
        f"c@{t0 + 9 * minute}#2": (2, False),
        f"a@{t0 + 30_000}#1": (1, False),
    }
