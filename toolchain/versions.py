"""Pinned engine versions, read from the one place they are written: pyproject.toml [tool.rta.versions].

Standard library only: the bootstrap imports this before any virtualenv exists.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Versions:
    flink: str
    flink_kafka_connector: str
    kafka: str
    log4j: str
    pinot: str
    java: str


@cache
def versions(pyproject: Path = REPO_ROOT / "pyproject.toml") -> Versions:
    with pyproject.open("rb") as f:
        table = tomllib.load(f)["tool"]["rta"]["versions"]
    return Versions(**table)
