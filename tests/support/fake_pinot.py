"""A stand-in for query.pinot.Pinot: records the SQL the API sends and answers from in-memory rows.

It understands just the query shapes query/analytics.py builds: enough to answer them like Pinot would
(bucket expressions are evaluated with Python's reading of the same arithmetic), so routes can be tested
end to end through FastAPI without an engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from query.sql import Value, bind

Rows = list[dict[str, Any]]


@dataclass
class FakePinot:
    """`answer(sql)` returns the rows for one bound SQL text; every query is kept in `sent`."""

    answer: Callable[[str], Rows] = lambda sql: []
    newest_event_ms: int | None = 1_795_000_000_000
    sent: list[str] = field(default_factory=list)

    def rows(self, sql: str, params: Mapping[str, Value] | None = None) -> Rows:
        bound = bind(sql, params or {})
        self.sent.append(bound)
        if bound.startswith("SELECT MAX(event_timestamp) AS t FROM"):
            return [{"t": float(self.newest_event_ms) if self.newest_event_ms else -math.inf}]
        return [dict(r) for r in self.answer(bound)]

    def close(self) -> None:
        pass

    def queries(self, fragment: str) -> list[str]:
        return [s for s in self.sent if fragment in s]


_RUN = re.compile(r"\((-?\d+) \+ FLOOR\(\((\w+) - (-?\d+)\) / (\d+)\) \* (\d+)\)")
_WHEN = re.compile(r"WHEN (\w+) < (-?\d+) THEN")


def bucket_of(sql: str, ms: int) -> int:
    """Evaluate the bucket expression in `sql` (query.analytics.bucket_sql) for a row at `ms`."""
    runs = [(int(first), int(length)) for first, _, _, length, _ in _RUN.findall(sql)]
    bounds = [int(b) for _, b in _WHEN.findall(sql)]
    assert runs, sql
    chosen = runs[-1]
    for run, bound in zip(runs, bounds, strict=False):
        if ms < bound:
            chosen = run
            break
    first, length = chosen
    return float(first + math.floor((ms - first) / length) * length)  # type: ignore[return-value]


def time_bounds(sql: str, column: str) -> tuple[int, int]:
    m = re.search(rf"{column} >= (-?\d+) AND {column} < (-?\d+)", sql)
    assert m, sql
    return int(m.group(1)), int(m.group(2))
