from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from core.settings import Settings
from stack import provision, recovery
from stack.provision import resume_point


def _checkpoint(settings: Settings, job_id: str, n: int, complete: bool = True) -> Path:
    path = settings.run_dir / "flink" / "checkpoints" / job_id / f"chk-{n}"
    path.mkdir(parents=True)
    if complete:
        (path / "_metadata").write_bytes(b"")
    return path


def _record(settings: Settings, job_id: str, restored_from: Path | None) -> Path:
    record = settings.run_dir / "flink" / "jobs" / "job.json"
    record.parent.mkdir(parents=True, exist_ok=True)
    origin = str(restored_from) if restored_from else None
    record.write_text(json.dumps({"job_id": job_id, "restored_from": origin}))
    return record


class _NoJobs:
    """A stand-in for FlinkRest on a cluster that runs no job."""

    def __init__(self, _: Settings) -> None:
        pass

    def __enter__(self) -> _NoJobs:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def jobs(self) -> list[dict[str, str]]:
        return []


def test_a_new_stack_has_nothing_to_resume(tmp_path: Path) -> None:
    assert resume_point(Settings(run_dir=tmp_path), tmp_path / "flink" / "jobs" / "job.json") is None


def test_the_last_job_resumes_from_its_newest_complete_checkpoint(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path)
    _checkpoint(s, "a", 9)
    newest = _checkpoint(s, "a", 10)
    _checkpoint(s, "a", 11, complete=False)  # still being written when the job stopped
    assert resume_point(s, _record(s, "a", None)) == newest


def test_a_job_stopped_before_its_first_checkpoint_hands_on_the_state_it_started_from(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path)
    inherited = _checkpoint(s, "a", 10)
    assert resume_point(s, _record(s, "b", inherited)) == inherited


def test_a_job_started_without_state_and_stopped_before_a_checkpoint_leaves_nothing(tmp_path: Path) -> None:
    s = Settings(run_dir=tmp_path)
    assert resume_point(s, _record(s, "b", None)) is None


def test_a_running_job_is_kept_unless_its_plan_changed_or_fresh_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flink's HA brings back, after `rta down` / `rta up`, the job that ran before: with its old plan.
    settings = Settings(run_dir=tmp_path)
    spec = recovery.JobSpec.product()
    cancelled: list[str] = []
    submitted: list[Mapping[str, str] | None] = []

    class Rest(_NoJobs):
        def jobs(self) -> list[dict[str, str]]:
            return [{"jid": "old", "name": spec.job_name, "state": "RUNNING"}]

        def cancel(self, job_id: str) -> None:
            cancelled.append(job_id)

    monkeypatch.setattr(provision, "FlinkRest", Rest)
    monkeypatch.setattr(provision, "wait_for_state", lambda *_: "CANCELED")
    monkeypatch.setattr(provision, "_wait_running", lambda *_: None)
    monkeypatch.setattr(recovery, "submit_spec", lambda _s, _spec, config: submitted.append(config) or "new")
    record = recovery.save_record(settings, spec, "old", None)

    assert provision.ensure_pipeline(settings).action == "already running"
    assert (cancelled, submitted) == ([], [])

    older = {**json.loads(record.read_text()), "plan": "0" * 64}  # the SQL or the settings changed since
    record.write_text(json.dumps(older))
    state = provision.ensure_pipeline(settings)
    assert (cancelled, state.job_id, state.action) == (["old"], "new", "started")  # no checkpoint to resume

    cancelled.clear()
    assert provision.ensure_pipeline(settings, fresh=True).job_id == "new"
    assert cancelled == ["old"]
    assert json.loads(record.read_text())["plan"] == recovery.plan_digest(settings, spec)


def test_a_resumed_job_keeps_its_state_backend_and_a_new_one_takes_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Flink cannot restore a heap checkpoint into RocksDB (an ArrayIndexOutOfBoundsException while
    # restoring a keyed operator, seen on Flink 2.2.1): a job resumes on the backend that wrote it.
    settings = Settings(run_dir=tmp_path, flink_state_backend="rocksdb")
    submitted: list[tuple[str | None, int, Mapping[str, str] | None]] = []

    monkeypatch.setattr(provision, "FlinkRest", _NoJobs)
    monkeypatch.setattr(provision, "_wait_running", lambda *_: None)
    monkeypatch.setattr(
        recovery,
        "submit_spec",
        lambda _s, spec, config: submitted.append((spec.state_backend, spec.plan_version, config)) or "new",
    )
    legacy = recovery.JobSpec.from_json(  # a record from before backends and plan versions were kept
        {
            k: v
            for k, v in recovery.JobSpec.product().to_json().items()
            if k not in ("state_backend", "plan_version")
        }
    )
    recovery.save_record(settings, legacy, "old", None)
    checkpoint = _checkpoint(settings, "old", 7)

    provision.ensure_pipeline(settings)
    # resumed with the graph and backend its checkpoint was written for
    assert submitted == [("hashmap", 1, {"execution.state-recovery.path": checkpoint.as_uri()})]
    assert recovery.load_spec(settings).state_backend == "hashmap"

    submitted.clear()
    provision.ensure_pipeline(settings, fresh=True)  # no state to carry: the settings' backend
    assert submitted == [(None, 2, None)]
    assert recovery.load_spec(settings).state_backend == "rocksdb"
