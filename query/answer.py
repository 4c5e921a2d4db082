"""What a query returns: its rows and the Pinot tables they were read from.

A route builds its response from answers and reports their tables as `meta.source`, so the source is
whatever the query layer actually read, decided in one place (which table a query reads can depend on
its filters and granularity: query/analytics.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T", covariant=True)
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    """`rows`, shaped per query (its docstring says how), read from `tables` (Pinot table names, in the
    order read, each once). A query that had nothing to read (an empty range) still names the tables it
    would have read."""

    rows: T
    tables: tuple[str, ...]

    def map(self, f: Callable[[T], U]) -> Answer[U]:
        """The same tables, with the rows transformed by `f`."""
        return Answer(f(self.rows), self.tables)


def read_from(*answers: Answer[Any]) -> str:
    """The tables of `answers`, each once, in order and comma-separated: a response's `meta.source`."""
    return ", ".join(dict.fromkeys(table for a in answers for table in a.tables))
