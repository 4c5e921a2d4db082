import json
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import Settings
from flink_jobs.pipeline import PLAN_VERSION, Quarantined, Topics, Variant, split_extra, statements
from flink_jobs.since import Since
from stack import cli, recovery
from stack.provision import resume_point
from stack.recovery import JobSpec, NoCheckpointError, SkipError

# What Flink 2.x's GET /jobs/<id>/exceptions holds after PARSE_EVENT's downstream failed on a record
# (abridged; tabs as in Java's printStackTrace).
TRACE = """\
org.apache.flink.streaming.runtime.tasks.ExceptionInChainedOperatorException: Could not forward element \
to next operator
\tat org.apache.flink.streaming.runtime.tasks.ChainingOutput.pushToOperator(ChainingOutput.java:92)
\tat org.apache.flink.streaming.runtime.tasks.ChainingOutput.collect(ChainingOutput.java:50)
\tat org.apache.flink.connector.kafka.source.reader.KafkaRecordEmitter.emitRecord(KafkaRecordEmitter.java:54)
\tat org.apache.flink.streaming.runtime.tasks.StreamTask.runMailboxLoop(StreamTask.java:955)
\tat org.apache.flink.runtime.taskmanager.Task.run(Task.java:569)
\tat java.base/java.lang.Thread.run(Thread.java:1583)
Caused by: rta.udf.RecordFailedException: the job failed on the record at partition 2 offset 98765432101 \
of the raw topic: org.apache.flink.table.api.TableRuntimeException: Could not cast string 'user_id' to INT
\tat rta.udf.ParseEvent.eval(ParseEvent.java:63)
\tat StreamExecCorrelate$41.processElement(Unknown Source)
\t... 18 more
Caused by: org.apache.flink.table.api.TableRuntimeException: Could not cast string 'user_id' to INT
\tat StreamExecCalc$57.processElement_split3(Unknown Source)
\t... 21 more
Caused by: java.lang.NumberFormatException: For input string: 'user_id'. Invalid character found.
\tat org.apache.flink.table.data.binary.BinaryStringDataUtil.toInt(BinaryStringDataUtil.java:585)
\t... 23 more
"""

OTHER = """\
java.util.concurrent.TimeoutException: Heartbeat of TaskManager with id 127.0.0.1:40123-8f2a timed out.
\tat org.apache.flink.runtime.jobmaster.JobMaster$TaskManagerHeartbeatListener.notify(JobMaster.java:1550)
"""


def _entry(trace: str, timestamp: int) -> dict[str, object]:
    name = trace.split(":", 1)[0]
    return {"exceptionName": name, "stacktrace": trace, "timestamp": timestamp, "taskName": "Source: raw"}


def _history(*entries: dict[str, object]) -> dict[str, object]:
    return {"exceptionHistory": {"entries": list(entries), "truncated": False}}


# --- JobSpec and the job record ---------------------------------------------------------------------


def _spec() -> JobSpec:
    return JobSpec(
        job_name="poison_ab12",
        topics=Topics(raw_events="raw_x", dead_letters="dlq_x"),
        group_id="group_x",
        quarantine=(Quarantined(2, 17, "a 'quoted' reason"), Quarantined(0, 3, "ünïcode")),
        extra_statements=(
            "CREATE TABLE t (x INT) WITH ('connector' = 'blackhole')",
            "INSERT INTO t SELECT 1",
        ),
    )


def test_a_spec_survives_a_json_round_trip() -> None:
    spec = _spec()
    assert JobSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec


def test_a_rebuild_from_a_time_keeps_its_range_in_the_record() -> None:
    since = Since(1_795_000_000_000, ((0, 17), (1, 4)))
    spec = replace(_spec(), since=since)
    assert JobSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    assert spec.variant == Variant(extra_statements=spec.extra_statements, since=since)
    # its plan is another: a restart must submit the same one again
    assert recovery.plan_digest(Settings(), spec) != recovery.plan_digest(Settings(), _spec())


def test_the_product_spec_is_the_default_topics_its_name_as_group_and_nothing_set_aside() -> None:
    spec = JobSpec.product("ecommerce-pipeline")
    assert (spec.topics, spec.group_id, spec.quarantine, spec.extra_statements) == (
        Topics(),
        "ecommerce-pipeline",
        (),
        (),
    )
    assert JobSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec


def test_a_job_without_a_saved_spec_runs_the_product_spec(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path)
    assert recovery.load_spec(s, "j") == JobSpec.product("j")
    legacy = recovery.record_path(s, "j")  # written before specs were kept
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({"job_id": "a", "restored_from": None}))
    # with the backend its checkpoints were written with: every job then ran on the heap
    assert recovery.load_spec(s, "j") == replace(
        JobSpec.product("j"), state_backend="hashmap", plan_version=1
    )


def test_a_spec_keeps_the_state_backend_its_checkpoints_need() -> None:
    assert JobSpec.product().state_backend is None  # a new job: the settings' backend
    for backend in (None, "hashmap", "rocksdb"):
        spec = replace(_spec(), state_backend=backend)
        assert JobSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    recorded_before = {
        k: v for k, v in _spec().to_json().items() if k not in ("state_backend", "plan_version")
    }
    legacy = JobSpec.from_json(recorded_before)
    assert (legacy.state_backend, legacy.plan_version) == ("hashmap", 1)  # the graph and backend it ran
    assert JobSpec.product().plan_version == PLAN_VERSION == 2
    assert _spec().resolved(Settings(flink_state_backend="rocksdb")).state_backend == "rocksdb"
    assert replace(_spec(), state_backend="hashmap").resolved(Settings()).state_backend == "hashmap"


def test_the_record_names_the_backend_and_the_plan_follows_it(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path, flink_state_backend="rocksdb")
    recovery.save_record(s, _spec(), "new", None)
    saved = recovery.load_spec(s, "poison_ab12")
    assert saved.state_backend == "rocksdb"
    assert recovery.plan_digest(s, saved) == recovery.plan_digest(s, _spec())
    assert recovery.plan_digest(s, replace(saved, state_backend="hashmap")) != recovery.plan_digest(s, saved)
    assert recovery.plan_digest(s, replace(saved, plan_version=1)) != recovery.plan_digest(s, saved)


def test_the_record_keeps_the_spec_beside_what_provision_reads(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path)
    spec = _spec()
    checkpoint = tmp_path / "flink" / "checkpoints" / "old" / "chk-4"
    checkpoint.mkdir(parents=True)
    (checkpoint / "_metadata").write_bytes(b"")
    path = recovery.save_record(s, spec, "new", checkpoint)
    assert path == s.run_dir / "flink" / "jobs" / "poison_ab12.json"
    saved = json.loads(path.read_text())
    assert (saved["job_id"], saved["restored_from"]) == ("new", str(checkpoint))
    assert recovery.load_spec(s, spec.job_name) == spec.resolved(s)  # with the backend it ran on
    assert resume_point(s, path) == checkpoint  # the new job has no checkpoint yet: it hands this on


def test_quarantining_a_record_twice_keeps_one_entry_and_the_first_reason() -> None:
    spec = JobSpec.product("j")
    once = spec.with_quarantined(Quarantined(1, 5, "first"))
    twice = once.with_quarantined(Quarantined(1, 5, "second"))
    assert twice is once
    assert twice.quarantine == (Quarantined(1, 5, "first"),)
    other = twice.with_quarantined(Quarantined(1, 6, "next")).with_quarantined(Quarantined(2, 5, "x"))
    assert [(q.partition, q.offset) for q in other.quarantine] == [(1, 5), (1, 6), (2, 5)]
    assert other.quarantined(1, 6) == Quarantined(1, 6, "next")
    assert other.quarantined(0, 6) is None
    assert spec.quarantine == ()  # specs are values: the original is unchanged


# --- extra statements -------------------------------------------------------------------------------


def test_extra_statements_split_into_ddl_and_inserts_by_their_first_word() -> None:
    extra = (
        "CREATE TABLE poison_sink (x INT) WITH ('connector' = 'blackhole')",
        "\n  insert into poison_sink SELECT 1",
        "CREATE TEMPORARY VIEW v AS SELECT 1 AS inserted",
        "\tInsert Into poison_sink SELECT 2",
        "INSERTED_NOT_A_KEYWORD",
    )
    ddl, inserts = split_extra(extra)
    assert ddl == [extra[0], extra[2], extra[4]]
    assert inserts == [extra[1], extra[3]]


def test_extra_statements_come_after_the_products_own() -> None:
    plain_ddl, plain_inserts = statements(Settings(), Topics(), "j", "g")
    extra = (
        "CREATE TABLE poison_sink (x INT) WITH ('connector' = 'blackhole')",
        "INSERT INTO poison_sink SELECT 1",
    )
    ddl, inserts = statements(Settings(), Topics(), "j", "g", Variant(extra_statements=extra))
    assert ddl == [*plain_ddl, extra[0]]
    assert inserts == [*plain_inserts, extra[1]]


def test_a_quarantine_reaches_the_parse_function_as_a_json_literal() -> None:
    spec = JobSpec.product("j").with_quarantined(Quarantined(2, 7, "it's bad"))
    ddl, _ = statements(Settings(), Topics(), "j", "j", quarantine=spec.quarantine)
    parsed = next(s for s in ddl if "VIEW parsed_events" in s)
    assert """'[{"partition":2,"offset":7,"reason":"it''s bad"}]'""" in parsed


# --- reading a failure ------------------------------------------------------------------------------


def test_the_record_a_job_failed_on_is_read_from_the_caused_by_chain() -> None:
    assert recovery.failed_record(TRACE) == (2, 98765432101)
    assert recovery.failed_record(OTHER) is None


def test_a_failure_names_exception_message_innermost_cause_and_record() -> None:
    failure = recovery.parse_failure("jid", "RESTARTING", 3, _history(_entry(TRACE, 1_700_000_000_000)))
    assert failure is not None
    assert failure.exception == "org.apache.flink.streaming.runtime.tasks.ExceptionInChainedOperatorException"
    assert failure.message == "Could not forward element to next operator"
    assert (
        failure.cause
        == "java.lang.NumberFormatException: For input string: 'user_id'. Invalid character found."
    )
    assert (failure.state, failure.restarts, failure.record) == ("RESTARTING", 3, (2, 98765432101))
    assert failure.timestamp_ms == 1_700_000_000_000
    assert recovery.skip_command(failure) == "rta skip --partition 2 --offset 98765432101"
    assert (
        recovery.skip_command(failure, "other") == "rta skip --partition 2 --offset 98765432101 --job other"
    )


def test_the_newest_exception_counts_whatever_order_flink_lists_them_in() -> None:
    older, newer = _entry(TRACE, 1_000), _entry(OTHER, 2_000)
    for history in (_history(older, newer), _history(newer, older)):
        failure = recovery.parse_failure("jid", "RUNNING", None, history)
        assert failure is not None
        assert failure.exception == "java.util.concurrent.TimeoutException"
        assert failure.record is None
        assert failure.restarts == 2  # no numRestarts metric: the failures in the history
        assert recovery.skip_command(failure) is None


def test_a_job_that_never_failed_has_no_failure() -> None:
    assert recovery.parse_failure("jid", "RUNNING", 0, _history()) is None
    assert recovery.parse_failure("jid", "RUNNING", None, {}) is None


def test_flink_1_root_exception_is_read_too() -> None:
    answer = {"root-exception": TRACE, "timestamp": 5, "all-exceptions": [], "truncated": False}
    failure = recovery.parse_failure("jid", "FAILED", None, answer)
    assert failure is not None
    assert (failure.record, failure.restarts, failure.timestamp_ms) == ((2, 98765432101), 1, 5)


# --- skip refuses before touching the job -----------------------------------------------------------


def test_skip_needs_the_jobs_record(tmp_path: Path) -> None:
    with pytest.raises(SkipError, match="no record"):
        recovery.skip(Settings(run_dir=tmp_path), "j", 0, 1, "bad")


def test_skip_needs_a_checkpoint_to_resume_from(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path)
    recovery.save_record(s, JobSpec.product("j"), "never-checkpointed", None)
    with pytest.raises(NoCheckpointError, match="no retained checkpoint"):
        recovery.skip(s, "j", 0, 1, "bad")


# --- the command ------------------------------------------------------------------------------------


def test_rta_skip_takes_both_partition_and_offset_or_neither() -> None:
    result = CliRunner().invoke(cli.app, ["skip", "--partition", "1"])
    assert result.exit_code == 2
    assert "both --partition and --offset" in result.output


def test_rta_skip_without_a_record_takes_the_newest_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    failed = recovery.parse_failure("old", "RESTARTING", 2, _history(_entry(TRACE, 1)))
    calls: list[tuple[str, int, int, str]] = []

    def skip(settings: Settings, job: str, partition: int, offset: int, reason: str) -> recovery.Skipped:
        calls.append((job, partition, offset, reason))
        return recovery.Skipped(
            "new", Path("/c/chk-3"), Quarantined(partition, offset, reason), True, ("old",)
        )

    monkeypatch.setattr(recovery, "current_job", lambda settings, job: ("old", "RESTARTING"))
    monkeypatch.setattr(recovery, "failure", lambda settings, job_id: failed)
    monkeypatch.setattr(recovery, "skip", skip)
    result = CliRunner().invoke(cli.app, ["skip"])
    assert result.exit_code == 0, result.output
    assert calls == [
        (
            "ecommerce-pipeline",
            2,
            98765432101,
            "the job failed on it: java.lang.NumberFormatException: For input string: 'user_id'. "
            "Invalid character found.",
        )
    ]
    assert "resumed from /c/chk-3" in result.output

    monkeypatch.setattr(recovery, "failure", lambda settings, job_id: None)
    result = CliRunner().invoke(cli.app, ["skip"])
    assert result.exit_code == 1
    assert "no failure of ecommerce-pipeline names a record" in result.output


def test_a_failure_is_history_once_the_job_has_checkpointed_after_it() -> None:
    from stack.recovery import still_failing

    assert still_failing("RESTARTING", 1_000, 5_000)
    assert still_failing("FAILED", None, None)
    assert still_failing("RUNNING", 6_000, 5_000)  # failed after its newest checkpoint
    assert still_failing("RUNNING", 6_000, None)
    assert not still_failing("RUNNING", 4_000, 5_000)  # checkpointed since: got past it
    assert not still_failing("RUNNING", None, 5_000)
