"""The tables the API answers from: fixed ones (settings.api_tables, tests), or those of the generation
the serving record names (core/generations.py), re-read when a rebuild switches it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from core.generations import Generation, read_serving
from query.analytics import Tables

log = logging.getLogger(__name__)


def _identity(record: Path) -> tuple[int, int, int] | None:
    """(inode, mtime_ns, size) of the record file; None when there is none."""
    try:
        st = record.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def served(tables: Tables | ServedTables) -> Tables:
    """The tables to answer from now: fixed ones as they are, a ServedTables' current ones."""
    return tables.current() if isinstance(tables, ServedTables) else tables


class ServedTables:
    """`current()` gives the tables to answer one request from; call it once per request, so that a
    switch never mixes two generations in one answer.

    With a record path it costs one stat() per call: the record is parsed again only when its file
    changes (a rebuild replaces it by a rename, which gives it a new inode).
    """

    def __init__(self, fixed: Tables | None = None, record: Path | None = None) -> None:
        if (fixed is None) == (record is None):
            raise ValueError("ServedTables takes fixed tables or a serving record, one of the two")
        self._fixed, self._record = fixed, record
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None  # (inode, mtime_ns, size) of the record read
        self._generation = Generation(0)
        self._tables = fixed or Tables.for_generation(self._generation)
        if record is not None:  # fail fast: a process must not start on a guess of what to serve
            self._generation = read_serving(record).generation
            self._tables = Tables.for_generation(self._generation)
            self._seen = _identity(record)

    def current(self) -> Tables:
        if self._record is None:
            return self._tables
        self._refresh(self._record)
        return self._tables

    @property
    def generation(self) -> Generation | None:
        """The served generation; None for fixed tables."""
        if self._record is None:
            return None
        self._refresh(self._record)
        return self._generation

    def _refresh(self, record: Path) -> None:
        seen = _identity(record)
        if seen == self._seen:
            return
        with self._lock:
            try:
                generation = read_serving(record).generation
            except ValueError as exc:
                log.warning("%s; still serving generation %d", exc, self._generation.number)
                self._seen = seen  # warned once per version of the file
                return  # a broken record: keep serving what was served
            self._generation, self._tables, self._seen = generation, Tables.for_generation(generation), seen
