"""The backfill's catch-up rules, without engines (the real run: tests/integration/test_backfill.py)."""

from __future__ import annotations

from stack.backfill import consumed, reached


def test_a_job_has_reached_a_target_on_every_partition_or_not_at_all() -> None:
    assert reached({0: 10, 1: 5}, {0: 10, 1: 5})
    assert reached({0: 11, 1: 9}, {0: 10, 1: 5})
    assert not reached({0: 10, 1: 4}, {0: 10, 1: 5})
    assert not reached({0: 10}, {0: 10, 1: 1})  # nothing committed on a partition with records
    assert reached({0: 3}, {0: 3, 1: 0})  # an empty partition needs no commit
    assert reached({}, {})  # a served job that never committed: nothing to catch up with


def test_pinot_has_consumed_a_topic_up_to_its_last_marker() -> None:
    ends = {0: 100, 1: 0, 2: 7}
    assert consumed({0: 100, 2: 7}, ends)
    assert consumed({0: 99, 2: 6}, ends)  # one short: the commit marker after the last record
    assert not consumed({0: 98, 2: 7}, ends)
    assert not consumed({0: 100}, ends)  # partition 2 has no consuming segment yet
    assert consumed({}, {0: 0, 1: 0})  # empty topics: nothing to wait for
