"""Generations: complete sets of the pipeline's outputs, one of which the API serves.

A rebuild (`rta backfill`) recomputes every dataset from the raw topic into a new generation (its own
job, output topics and Pinot tables) beside the one being served, and once it has caught up switches
the API to it in one step: the serving record names the generation, and every request reads its
tables from that record once. Generation 0 has the plain names (`ecommerce.metrics.active_users`,
table `active_users`, job `ecommerce-pipeline`); generation N > 0 adds `.gN` to topics, `_gN` to
tables and `-gN` to the job. The raw topic and the dimension topics are inputs, shared by all.

This is the reprocessing pattern of the Kappa architecture (Jay Kreps, "Questioning the Lambda
Architecture", 2014): a second job over the retained log, then a switch of the reader.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from core.datasets import JOB_NAME

SERVING_FILE = "serving/generation.json"
"""The serving record, under the stack's run directory (a folder of its own: docker-compose shares it
between the pipeline's tools and the API as a volume)."""


@dataclass(frozen=True, order=True)
class Generation:
    number: int = 0

    def __post_init__(self) -> None:
        if self.number < 0:
            raise ValueError(f"a generation is a number >= 0, not {self.number}")

    def topic(self, base: str) -> str:
        """An output topic's name in this generation."""
        return base if self.number == 0 else f"{base}.g{self.number}"

    def table(self, base: str) -> str:
        """A Pinot table's name in this generation."""
        return base if self.number == 0 else f"{base}_g{self.number}"

    @property
    def job_name(self) -> str:
        """The Flink job (and consumer group of the raw topic) that writes this generation."""
        return JOB_NAME if self.number == 0 else f"{JOB_NAME}-g{self.number}"

    def next(self) -> Generation:
        return Generation(self.number + 1)


@dataclass(frozen=True)
class Serving:
    """The serving record: which generation the API answers from, and since when (UTC)."""

    generation: Generation
    since: datetime | None = None


def serving_path(run_dir: Path) -> Path:
    return run_dir / SERVING_FILE


def read_serving(path: Path) -> Serving:
    """The record at `path`; generation 0 when there is none (a stack that was never rebuilt).

    Raises ValueError for a record that is not one (the API must not guess which tables to serve).
    """
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return Serving(Generation(0))
    except (OSError, ValueError) as exc:
        raise ValueError(f"serving record {path} unreadable: {exc}") from exc
    try:
        since = datetime.fromisoformat(raw["since"]) if raw.get("since") else None
        return Serving(Generation(int(raw["generation"])), since)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"serving record {path} is not one: {exc}") from exc


def write_serving(path: Path, generation: Generation, now: datetime | None = None) -> Serving:
    """Make `generation` the served one, atomically: readers see the old record or the new, never a
    part (a new file renamed over the old, POSIX rename)."""
    serving = Serving(generation, now or datetime.now(UTC))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    assert serving.since is not None
    with tmp.open("w") as f:
        f.write(json.dumps({"generation": generation.number, "since": serving.since.isoformat()}))
        f.flush()
        os.fsync(f.fileno())  # the bytes are on disk before the name points at them
    os.replace(tmp, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # and the rename itself survives a crash
    finally:
        os.close(folder)
    return serving
