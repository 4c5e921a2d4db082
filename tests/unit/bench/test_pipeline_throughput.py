from __future__ import annotations

import io
from pathlib import Path

import orjson

from bench.pipeline_throughput import Prefill, _recorded, oracle
from event_generator.faults import Fault, Outgoing


def _event(event_id: str, minute: int, session: str, product: str | None = None) -> bytes:
    event = {"event_id": event_id, "event_type": "page_view", "event_timestamp": minute * 60_000 + 5}
    event |= {"session_id": session, "product_id": product}
    return orjson.dumps(event)


def test_every_record_is_sent_and_only_the_valid_ones_reach_the_oracle() -> None:
    records = [
        Outgoing(b"s1", _event("a", 1, "s1"), Fault.NONE),
        Outgoing(b"s1", b'{"event_id": "broken"', Fault.MALFORMED),
        Outgoing(b"s2", _event("b", 3, "s2"), Fault.LATE),
    ]
    jsonl, seen = io.BytesIO(), Prefill()
    assert list(_recorded(records, jsonl, seen)) == records
    assert (seen.records, seen.malformed, seen.newest_ms) == (3, 1, 3 * 60_000 + 5)
    assert jsonl.getvalue().splitlines() == [records[0].value, records[2].value]


def test_the_oracle_counts_first_copies_and_keys(tmp_path: Path) -> None:
    lines = [
        _event("a", 1, "s1", "p1"),
        _event("a", 1, "s1", "p1"),  # a duplicate: the pipeline keeps the first copy only
        _event("b", 1, "s1", "p1"),
        _event("c", 1, "s2", "p2"),
        _event("d", 2, "s2", None),
    ]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    figures, seconds = oracle(path, malformed=7)
    assert seconds > 0
    assert figures == {
        "events rows": 4,
        "dead_letters rows": 7,
        "active_users keys": 2,
        "active_users events": 4,
        "product_metrics keys": 2,
        "product_metrics events": 3,
        "session_metrics keys": 2,
        "session_metrics events": 4,
    }
