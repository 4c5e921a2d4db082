"""`rta backfill`: recompute every dataset from the raw topic into a new generation, then switch the API.

The steps (core/generations.py says what a generation is):

1. Leftovers of an earlier, unfinished backfill into the same generation are removed (its job, tables,
   topics and consumer group), so every attempt starts from nothing.
2. The new generation's topics and Pinot tables are created and its job is started as a new consumer
   group of the raw topic: it reads everything the raw topic retains (7 days), with the served job's
   quarantined records still set aside. The served generation goes on serving and ingesting meanwhile.
3. Caught up means: the new job has committed (a checkpoint completed) every raw offset that existed
   when it started, and Pinot has consumed every committed record of its output topics as of then.
4. The serving record names the new generation (one atomic rename): from the next request on, the API
   answers from it. Nothing is served twice or lost: each answer comes from one complete generation.
5. The old job is cancelled and, unless kept, its tables, topics and consumer group are deleted.

A rebuild after a change to the job's SQL is the same command: the new job runs the new plan from
the beginning of the raw topic, without the repeats and the loss window of `rta provision --fresh`.

`since` (`rta backfill --from T1`) rebuilds the rows whose newest covered time is at or after T1 and keeps
the served generation's older rows (flink_jobs/since.py): the cut is the served job's committed offsets,
its older rows as of the cut are copied into the new topics (stack/carry.py), and the new job, which
still reads the whole raw topic, writes the rows it owns and every row a record past the cut updated.
T1 must be at least `RTA_MAX_LATENESS_S` in the past.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import CoordinatorNotAvailableError, KafkaError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
)

from core import topics
from core.datasets import DATASETS, Mode
from core.events import to_epoch_millis
from core.generations import Generation, serving_path, write_serving
from core.settings import Settings
from flink_jobs.pipeline import Topics
from flink_jobs.runner import TERMINAL_STATES, FlinkRest
from flink_jobs.since import Since
from provisioning import pinot_tables
from stack import carry, provision, recovery


class BackfillError(RuntimeError):
    pass


class CleanupError(BackfillError):
    """The switch happened, removing the old generation did not (the next backfill retries it)."""


@dataclass(frozen=True)
class Backfill:
    """What a backfill did: the generations before and after, the new job, and how long each step took (s)."""

    previous: Generation
    generation: Generation
    job_id: str
    job_caught_up_s: float
    pinot_caught_up_s: float
    previous_removed: bool


def _say(_: str) -> None:
    pass


def backfill(
    settings: Settings,
    *,
    since: datetime | None = None,
    keep_previous: bool = False,
    allow_history_loss: bool = False,
    timeout_s: float = 7200.0,
    progress: Callable[[str], None] = _say,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Backfill:
    """Rebuild every dataset into the next generation and serve it (module docstring); with `since`
    (timezone-aware), only the rows whose newest covered time is at or after it.

    Raises BackfillError when another backfill runs, when `since` is less than `RTA_MAX_LATENESS_S` in
    the past, when the raw topic no longer holds records the rebuild needs (its first ones; with
    `since`, those from a day and the lateness bounds before it) and `allow_history_loss` is off, or
    when the new job fails or does not catch up within `timeout_s` (each wait); the served generation
    is untouched then and the new job is cancelled. Raises CleanupError when only the removal of the
    old generation failed.
    """
    with _exclusive(settings):
        previous = provision.serving(settings)
        generation = previous.next()
        if since is not None:
            check_since(settings, since, now())
        lost = retention_losses(settings)
        if lost and not allow_history_loss and not _history_kept(settings, since):
            raise BackfillError(
                f"the raw topic no longer holds its first {lost:,} records (kept 7 days): a rebuild would "
                "not have them; `--allow-history-loss` rebuilds from what is left"
                + ("" if since is None else ", or choose a later `--from`")
            )
        progress(f"serving generation {previous.number}; building generation {generation.number}")
        for older in range(previous.number):  # an earlier backfill whose clean-up failed
            if recovery.record_path(settings, Generation(older).job_name).exists():
                remove_generation(settings, Generation(older))
        remove_generation(settings, generation)
        provision.ensure_topics(settings, generation)
        provision.ensure_tables(settings, generation)
        served_spec = recovery.load_spec(settings, previous.job_name)
        spec = recovery.JobSpec(
            generation.job_name,
            topics=Topics.for_generation(generation),
            quarantine=served_spec.quarantine,
            extra_statements=served_spec.extra_statements,
        )
        ends: dict[str, dict[int, int]] = {}
        if since is not None:
            progress(f"the cut: {previous.job_name}'s committed offsets, and its rows committed up to them")
            cut, ends = _cut(settings, previous, served_spec, timeout_s)
            spec = replace(spec, since=Since(to_epoch_millis(since), tuple(sorted(cut.items()))))
        if committed_offsets(settings, spec.group_id):
            raise BackfillError(f"consumer group {spec.group_id} still has offsets; it must start empty")
        started = time.monotonic()
        try:
            job_id = recovery.submit_spec(settings, spec)
        except Exception as exc:  # PyFlink raises Py4J/Table exceptions: keep the message
            raise BackfillError(f"submitting {spec.job_name} failed: {exc}") from exc
        recovery.save_record(settings, spec, job_id, None)
        progress(f"job {spec.job_name} ({job_id}) reads the raw topic from its beginning")
        try:
            if since is not None:
                progress(f"copying generation {previous.number}'s rows from before {since.isoformat()}")
                _copy(settings, served_spec.topics, spec.topics, ends, spec.since, progress)
                progress(f"copied generation {previous.number}'s rows from before --from")
            job_s = _job_catches_up(settings, spec.group_id, job_id, previous, timeout_s, progress)
            progress(f"the job has caught up in {job_s:.0f} s; waiting for Pinot")
            _pinot_catches_up(settings, generation, timeout_s)
        except BaseException:
            _cancel(settings, generation.job_name)  # a half-built generation is not left running
            raise
        pinot_s = time.monotonic() - started - job_s
        write_serving(serving_path(settings.run_dir), generation)
    progress(f"the API serves generation {generation.number} now")
    try:
        _cancel(settings, previous.job_name)
        if keep_previous:
            recovery.record_path(settings, previous.job_name).unlink(missing_ok=True)
        else:
            remove_generation(settings, previous)
            progress(f"generation {previous.number} removed (job, tables, topics, consumer group)")
    except (Exception, KeyboardInterrupt) as exc:  # interrupted too: the switch has happened, say so
        raise CleanupError(
            f"the API serves generation {generation.number}; removing generation {previous.number} failed "
            f"({exc}); the next `rta backfill` removes it"
        ) from exc
    return Backfill(previous, generation, job_id, job_s, pinot_s, not keep_previous)


HISTORY_NEEDED = timedelta(days=1)
"""How much raw history before `--from` a rebuild reads besides the lateness bounds: the business day
holding T1 began up to a day earlier (sessions and visits that began earlier still are the ones the
retention may already have cut, as in a full rebuild)."""


def check_since(settings: Settings, since: datetime, now: datetime) -> None:
    """Raises BackfillError unless `since` is timezone-aware and at least `max_lateness_s` before
    `now`: a row whose newest time is before it could still get a late event."""
    if since.tzinfo is None:
        raise BackfillError(f"--from {since.isoformat()} has no UTC offset; say which instant it is")
    earliest = now - timedelta(seconds=settings.max_lateness_s)
    if since > earliest:
        raise BackfillError(
            f"--from must be at least RTA_MAX_LATENESS_S ({settings.max_lateness_s} s) in the past, "
            f"i.e. at or before {earliest.isoformat(timespec='seconds')}: rows before a later time can "
            "still change; a full `rta backfill` rebuilds everything"
        )


def _history_kept(settings: Settings, since: datetime | None) -> bool:
    """With `since`: the raw topic, though retention has cut it, still starts early enough."""
    if since is None:
        return False
    first = first_record_time(settings)
    needed = since - HISTORY_NEEDED - timedelta(seconds=settings.max_lateness_s + settings.max_future_s)
    return first is not None and first <= needed


def first_record_time(settings: Settings) -> datetime | None:
    """The newest of the raw partitions' first retained record timestamps (None: an empty topic)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or []]
        starts = consumer.beginning_offsets(parts)
        ends = consumer.end_offsets(parts)
        firsts: list[int] = []
        for tp in parts:
            if ends[tp] <= starts[tp]:
                continue
            consumer.assign([tp])
            consumer.seek(tp, starts[tp])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                records = consumer.poll(timeout_ms=1000, max_records=1).get(tp)
                if records:
                    firsts.append(records[0].timestamp)
                    break
        return datetime.fromtimestamp(max(firsts) / 1000, UTC) if firsts else None
    finally:
        consumer.close()


def _cut(
    settings: Settings, served: Generation, spec: recovery.JobSpec, timeout_s: float
) -> tuple[dict[int, int], dict[str, dict[int, int]]]:
    """The cut (the served job's committed raw offsets now, per partition) and, per upserted dataset,
    the end of its committed output rows once every row of the records before the cut is committed: the
    sinks commit a checkpoint's transactions when it completes, as the source commits its offsets, so two
    more completed checkpoints are enough (a failed commit is retried at the next)."""
    record = recovery.read_record(settings, served.job_name)
    job_id = record["job_id"] if record else None
    with FlinkRest(settings) as rest:
        state = rest.state(job_id) if job_id else None
    if job_id is None or state != "RUNNING":
        raise BackfillError(
            f"--from needs the served job {served.job_name} running (it is {state or 'not started'}): "
            "`rta status` says more"
        )

    def checkpoints() -> int:
        with FlinkRest(settings) as rest:
            return int(rest.checkpoints(job_id)["counts"]["completed"])

    cut = committed_offsets(settings, spec.group_id)
    done = checkpoints()
    _wait(lambda: checkpoints() >= done + 2, timeout_s, f"two more checkpoints of {served.job_name}")
    ends = {
        d.name: after_last_record(settings, spec.topics.for_dataset(d))
        for d in DATASETS
        if d.mode is Mode.UPSERT
    }
    return cut, ends


def _copy(
    settings: Settings,
    old: Topics,
    new: Topics,
    ends: dict[str, dict[int, int]],
    since: Since | None,
    progress: Callable[[str], None],
) -> None:
    """Copy the carried rows of the upserted datasets (stack/carry.py)."""
    assert since is not None
    now_ms = to_epoch_millis(datetime.now(UTC))
    for d in DATASETS:
        if d.mode is not Mode.UPSERT:
            continue
        oldest = now_ms - d.retention_days * 86_400_000
        written = carry.copy(
            settings, d, old.for_dataset(d), new.for_dataset(d), ends[d.name], since.t1_ms, oldest
        )
        progress(f"  {d.name}: {written:,} rows carried over")


@contextlib.contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One backfill at a time per stack: a second would build the same generation and cancel the first."""
    path = serving_path(settings.run_dir).with_name("backfill.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BackfillError("another `rta backfill` is running on this stack") from exc
        yield


def retention_losses(settings: Settings) -> int:
    """How many of the raw topic's records retention has deleted (its partitions' start offsets)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or []]
        return sum(int(offset) for offset in consumer.beginning_offsets(parts).values())
    finally:
        consumer.close()


def raw_end_offsets(settings: Settings) -> dict[int, int]:
    """The raw topic's end offset per partition, now."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or []]
        return {tp.partition: int(offset) for tp, offset in consumer.end_offsets(parts).items()}
    finally:
        consumer.close()


def committed_offsets(settings: Settings, group: str) -> dict[int, int]:
    """The raw topic offsets `group` committed, per partition ({} for a group without any)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="rta-backfill")
    try:
        committed = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return {tp.partition: int(meta.offset) for tp, meta in committed.items() if tp.topic == topics.EVENTS}


def reached(committed: dict[int, int], target: dict[int, int]) -> bool:
    """Every partition of `target` committed at least that far."""
    return all(committed.get(p, 0) >= offset for p, offset in target.items())


def _job_catches_up(
    settings: Settings,
    group: str,
    job_id: str,
    served: Generation,
    timeout_s: float,
    progress: Callable[[str], None],
) -> float:
    """Wait until the new job has committed everything the raw topic held when it started, then until
    it is as far as the served job (both go on with live traffic), then for one more completed
    checkpoint: the sinks commit their transactions when a checkpoint completes, beside the source's
    offset commit and in no fixed order. Returns the seconds it took."""
    started = time.monotonic()

    def running() -> bool:
        with FlinkRest(settings) as rest:
            state = rest.state(job_id)
        if state in TERMINAL_STATES:
            raise BackfillError(f"the backfill job {job_id} is {state}; its exceptions are in the Flink UI")
        return True

    def checkpoints() -> int:
        with FlinkRest(settings) as rest:
            return int(rest.checkpoints(job_id)["counts"]["completed"])

    target = raw_end_offsets(settings)
    _wait(
        lambda: running() and reached(committed_offsets(settings, group), target),
        timeout_s,
        "replaying the raw topic",
    )
    progress(f"replayed the {sum(target.values()):,} raw records there were; catching up with live traffic")
    _wait(
        lambda: (
            running()
            and reached(committed_offsets(settings, group), committed_offsets(settings, served.job_name))
        ),
        timeout_s,
        f"catching up with {served.job_name}",
    )
    done = checkpoints()
    _wait(lambda: running() and checkpoints() > done, timeout_s, "one more checkpoint")
    return time.monotonic() - started


def _pinot_catches_up(settings: Settings, generation: Generation, timeout_s: float) -> None:
    outputs = {generation.table(d.name): generation.topic(d.topic) for d in DATASETS}
    targets = {table: after_last_record(settings, topic) for table, topic in outputs.items()}
    behind: dict[str, dict[int, tuple[int, int]]] = {}

    def caught_up() -> bool:
        behind.clear()
        for table, target in targets.items():
            offsets = pinot_tables.consuming_offsets(table, settings)
            late = {p: (offsets.get(p, 0), t) for p, t in target.items() if offsets.get(p, 0) < t}
            if late:
                behind[table] = late
        return not behind

    try:
        _wait(caught_up, timeout_s, f"Pinot consuming the outputs of generation {generation.number}")
    except BackfillError as exc:
        raise BackfillError(f"{exc}; behind (partition: (Pinot's offset, target)): {behind}") from exc


def after_last_record(settings: Settings, topic: str, window: int = 256) -> dict[int, int]:
    """Per partition, the offset after the last committed record (0 for none). A consumer that has read
    everything is at least there; the end offset can be further on, past transaction markers (one per
    transaction per partition) and aborted records, which a read_committed consumer never returns."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        ends = consumer.end_offsets(parts)
        starts = consumer.beginning_offsets(parts)
        found: dict[int, int] = {}
        for tp in parts:
            end, first, back = int(ends[tp]), int(starts[tp]), window
            while tp.partition not in found and end > first:
                start = max(first, end - back)
                consumer.assign([tp])
                consumer.seek(tp, start)
                last = None
                while consumer.position(tp) < end:
                    for records in consumer.poll(timeout_ms=1000).values():
                        last = max((r.offset for r in records if r.offset < end), default=last)
                if last is not None:
                    found[tp.partition] = last + 1
                elif start == first:
                    break  # no committed record at all
                back *= 4
        return {tp.partition: found.get(tp.partition, 0) for tp in parts}
    finally:
        consumer.close()


TRANSIENT = (httpx.HTTPError, KafkaError, pinot_tables.PinotTableError)
"""What a wait rides out: an engine slow to answer is not a reason to throw away an hour of replay."""


def _wait(check: Callable[[], bool | None], timeout_s: float, what: str) -> None:
    polling = Retrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.5, max=5.0),
        retry=retry_if_result(lambda done: not done) | retry_if_exception_type(TRANSIENT),
    )
    try:
        polling(check)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        why = f" (last error: {last})" if last else ""
        raise BackfillError(
            f"{what} did not finish within {timeout_s:.0f} s{why}; the served generation is unchanged"
        ) from exc


def _cancel(settings: Settings, job_name: str) -> None:
    with FlinkRest(settings) as rest:
        active = [
            j["jid"] for j in rest.jobs() if j["name"] == job_name and j["state"] in provision.ACTIVE_STATES
        ]
        for job_id in active:
            rest.cancel(job_id)
    for job_id in active:
        if provision.wait_for_state(settings, job_id, TERMINAL_STATES, 120) is None:
            raise BackfillError(f"job {job_id} of {job_name} did not stop within 120 s of its cancel")


# answers to a group deletion that a retry can get past (a young broker still electing or loading the
# group coordinator)
_COORDINATOR_NOT_READY = (
    "NotCoordinatorError",
    "CoordinatorLoadInProgressError",
    "CoordinatorNotAvailableError",
)


def _delete_group(admin: KafkaAdminClient, group: str) -> bool:
    """Delete consumer `group`: True once it is gone, False to retry. A group left with offsets would
    make the next job skip what they cover, so any other error raises BackfillError."""
    try:  # kafka-python 3.0 answers {group: "OK" | error class name}
        results = dict(admin.delete_groups([group]))
    except CoordinatorNotAvailableError:  # a new stack: no offsets topic yet, so no group either
        return True
    if any(error in _COORDINATOR_NOT_READY for error in results.values()):
        return False
    failed = {g: error for g, error in results.items() if error not in ("OK", "GroupIdNotFoundError")}
    if failed:
        raise BackfillError(f"deleting consumer group {group} failed: {failed}")
    return True


def delete_consumer_group(admin: KafkaAdminClient, group: str, timeout_s: float = 60.0) -> None:
    """Delete consumer `group` (gone already is fine), riding out a group coordinator that is not
    ready yet. Raises BackfillError on any other error, or after `timeout_s`."""
    _wait(lambda: _delete_group(admin, group), timeout_s, f"deleting group {group}")


def remove_generation(settings: Settings, generation: Generation) -> None:
    """Cancel the generation's job and delete its Pinot tables (first: a table whose topic is gone
    keeps the controller retrying), output topics, consumer group and job record. The raw and
    dimension topics are inputs and stay."""
    _cancel(settings, generation.job_name)
    pinot_tables.drop_all([generation.table(d.name) for d in DATASETS], settings)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="rta-backfill")
    try:
        existing = set(admin.list_topics())
        doomed = [generation.topic(d.topic) for d in DATASETS if generation.topic(d.topic) in existing]
        if doomed:
            admin.delete_topics(doomed)
            # Kafka deletes asynchronously: a topic created again before it is gone would vanish
            _wait(lambda: not set(doomed) & set(admin.list_topics()), 120, f"deleting {doomed}")
        delete_consumer_group(admin, generation.job_name)
    finally:
        admin.close()
    recovery.record_path(settings, generation.job_name).unlink(missing_ok=True)
