"""Column descriptions derived from the Pydantic models: the one place Flink DDL and Pinot schemas come from.

A `Column` says what a field is on the wire (its logical type, whether it may be absent, its
constraints), so generators can write Flink SQL column lists, the Flink validation expressions and
Pinot schemas without anyone copying a field list by hand.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Literal

import annotated_types
from pydantic import AwareDatetime, BaseModel


class Int64:
    """Marker in `Annotated[int, Int64]`: a 64-bit integer column (BIGINT / LONG) rather than a 32-bit one."""


class Kind(StrEnum):
    STRING = "string"
    DOUBLE = "double"
    INT = "int"
    LONG = "long"
    BOOLEAN = "boolean"
    EPOCH_MILLIS = "epoch_millis"
    """A timezone-aware datetime in Python, integer epoch milliseconds on the wire."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    nullable: bool = False
    min_length: int | None = None
    max_length: int | None = None
    ge: float | None = None
    le: float | None = None
    choices: tuple[str, ...] = ()
    description: str = ""
    required_for: frozenset[str] = field(default_factory=frozenset)
    """Event types (for event columns) that must carry this field."""
    present_in: frozenset[str] = field(default_factory=frozenset)
    """Event types (for event columns) that have this field at all; others ignore it."""


def _kind(annotation: Any) -> tuple[Kind, bool, tuple[str, ...], list[Any]]:
    """(kind, nullable, enum choices, constraint metadata nested in the annotation) of a field."""
    nullable = False
    nested: list[Any] = []
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        if len(args) != 1:
            raise TypeError(f"unsupported union {annotation!r}")
        annotation = args[0]
        origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        annotation, *extras = typing.get_args(annotation)
        for extra in extras:  # e.g. Field(max_length=...) inside `Annotated[str, ...] | None`
            nested.extend(getattr(extra, "metadata", [extra]))
    if origin is Literal:
        values = typing.get_args(annotation)
        return (
            Kind.STRING,
            nullable,
            tuple(str(v.value if isinstance(v, Enum) else v) for v in values),
            nested,
        )
    if annotation is AwareDatetime:
        return Kind.EPOCH_MILLIS, nullable, (), nested
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return Kind.STRING, nullable, tuple(str(m.value) for m in annotation), nested
        if issubclass(annotation, bool):
            return Kind.BOOLEAN, nullable, (), nested
        if issubclass(annotation, datetime):
            return Kind.EPOCH_MILLIS, nullable, (), nested
        if issubclass(annotation, int):
            return Kind.INT, nullable, (), nested
        if issubclass(annotation, float):
            return Kind.DOUBLE, nullable, (), nested
        if issubclass(annotation, str):
            return Kind.STRING, nullable, (), nested
    raise TypeError(f"no column kind for annotation {annotation!r}")


def model_columns(model: type[BaseModel]) -> list[Column]:
    """Columns of one model, in declaration order."""
    columns = []
    for name, info in model.model_fields.items():
        kind, nullable, choices, nested = _kind(info.annotation)
        if kind is Kind.INT and Int64 in [*info.metadata, *nested]:
            kind = Kind.LONG
        limits: dict[str, Any] = {}
        for meta in [*info.metadata, *nested]:
            if isinstance(meta, annotated_types.MinLen):
                limits["min_length"] = meta.min_length
            elif isinstance(meta, annotated_types.MaxLen):
                limits["max_length"] = meta.max_length
            elif isinstance(meta, annotated_types.Ge):
                limits["ge"] = meta.ge
            elif isinstance(meta, annotated_types.Le):
                limits["le"] = meta.le
        columns.append(
            Column(
                name,
                kind,
                nullable=nullable or (not info.is_required() and info.default is None),
                choices=choices,
                description=info.description or "",
                **limits,
            )
        )
    return columns


def union_columns(models: Iterable[type[BaseModel]], discriminator: str) -> list[Column]:
    """Every field of a discriminated union of models: required_for names the models that need it.

    A field that is not required by every model is nullable in the union (absent for other types).
    """
    models = list(models)
    by_name: dict[str, Column] = {}
    required: dict[str, set[str]] = {}
    present: dict[str, set[str]] = {}
    for model in models:
        tag = str(model.model_fields[discriminator].default)
        for column in model_columns(model):
            if column.name == discriminator:
                choices = tuple(str(m.model_fields[discriminator].default) for m in models)
                column = Column(column.name, Kind.STRING, choices=choices)
            by_name.setdefault(column.name, column)
            present.setdefault(column.name, set()).add(tag)
            if not column.nullable:
                required.setdefault(column.name, set()).add(tag)
    all_tags = {str(m.model_fields[discriminator].default) for m in models}
    result = []
    for name, column in by_name.items():
        needed_by = frozenset(required.get(name, set()))
        result.append(
            Column(
                name=column.name,
                kind=column.kind,
                nullable=needed_by != all_tags,
                min_length=column.min_length,
                max_length=column.max_length,
                ge=column.ge,
                le=column.le,
                choices=column.choices,
                description=column.description,
                required_for=needed_by,
                present_in=frozenset(present[name]),
            )
        )
    return result
