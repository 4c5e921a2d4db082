"""The backfill's catch-up rules, without engines (the real run: tests/integration/test_backfill.py)."""

from __future__ import annotations

from stack.backfill import reached


def test_a_job_has_reached_a_target_on_every_partition_or_not_at_all() -> None:
    assert reached({0: 10, 1: 5}, {0: 10, 1: 5})
    assert reached({0: 11, 1: 9}, {0: 10, 1: 5})
    assert not reached({0: 10, 1: 4}, {0: 10, 1: 5})
    assert not reached({0: 10}, {0: 10, 1: 1})  # nothing committed on a partition with records
    assert reached({0: 3}, {0: 3, 1: 0})  # an empty partition needs no commit
    assert reached({}, {})  # a served job that never committed: nothing to catch up with
