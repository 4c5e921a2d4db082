"""The backfill's catch-up rules, without engines (the real run: tests/integration/test_backfill.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from kafka.errors import CoordinatorNotAvailableError

from core.settings import Settings
from stack.backfill import BackfillError, _delete_group, check_since, reached


def test_a_job_has_reached_a_target_on_every_partition_or_not_at_all() -> None:
    assert reached({0: 10, 1: 5}, {0: 10, 1: 5})
    assert reached({0: 11, 1: 9}, {0: 10, 1: 5})
    assert not reached({0: 10, 1: 4}, {0: 10, 1: 5})
    assert not reached({0: 10}, {0: 10, 1: 1})  # nothing committed on a partition with records
    assert reached({0: 3}, {0: 3, 1: 0})  # an empty partition needs no commit
    assert reached({}, {})  # a served job that never committed: nothing to catch up with


class _Admin:
    """KafkaAdminClient.delete_groups as kafka-python 3.0 answers it: one scripted answer per call."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)

    def delete_groups(self, groups: list[str]) -> dict[str, str]:
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {groups[0]: answer}


def _delete(admin: _Admin) -> bool:
    return _delete_group(cast(Any, admin), "g1")


def test_a_group_deletion_retries_while_the_coordinator_is_not_ready_and_fails_on_other_errors() -> None:
    assert not _delete(_Admin("NotCoordinatorError"))  # seen on a young broker: retried
    assert not _delete(_Admin("CoordinatorLoadInProgressError"))
    assert _delete(_Admin("OK"))
    assert _delete(_Admin("GroupIdNotFoundError"))
    assert _delete(_Admin(CoordinatorNotAvailableError()))  # no offsets topic yet: no group either
    with pytest.raises(BackfillError, match="NonEmptyGroupError"):
        _delete(_Admin("NonEmptyGroupError"))


def test_a_rebuild_from_a_time_starts_at_least_the_lateness_bound_in_the_past() -> None:
    settings = Settings(max_lateness_s=3600)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    check_since(settings, now - timedelta(hours=1), now)  # a row before it can no longer change
    check_since(settings, now - timedelta(days=3), now)
    with pytest.raises(BackfillError, match=r"at least RTA_MAX_LATENESS_S \(3600 s\) in the past"):
        check_since(settings, now - timedelta(minutes=59, seconds=59), now)
    with pytest.raises(BackfillError, match="no UTC offset"):
        check_since(settings, datetime(2026, 11, 30, 8, 0), now)
