import json
from pathlib import Path

from core.settings import Settings
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
