"""Binding values into Pinot SQL without pasting user text: typed literals and whitelisted identifiers.

Pinot's broker takes SQL text only (no server-side parameters), so values are rendered here as literals
of their type: numbers are checked to be numbers, strings are quoted with every quote doubled, and
anything else is refused. Identifiers (tables, columns) must be plain names known to the caller.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime

from core.events import to_epoch_millis

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_PARAM = re.compile(r":(\w+)")

Value = str | int | float | bool | datetime


class QueryError(ValueError):
    pass


def identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise QueryError(f"not a plain identifier: {name!r}")
    return name


def literal(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QueryError("non-finite numbers cannot be query parameters")
        return repr(float(value))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise QueryError("datetimes must be timezone-aware")
        return str(to_epoch_millis(value))
    if isinstance(value, str):
        if any(ord(ch) < 32 for ch in value):
            raise QueryError("control characters are not allowed in query parameters")
        return "'" + value.replace("'", "''") + "'"
    raise QueryError(f"unsupported parameter type {type(value).__name__}")


def bind(sql: str, params: Mapping[str, Value]) -> str:
    """Replace each `:name` in `sql` with the literal for params[name]; every placeholder must be bound."""
    used = set()

    def render(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise QueryError(f"no value for :{name}")
        used.add(name)
        return literal(params[name])

    bound = _PARAM.sub(render, sql)
    if extra := set(params) - used:
        raise QueryError(f"parameters not used in the query: {sorted(extra)}")
    return bound
