"""Generations: names per generation, and the serving record read and written atomically."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.datasets import DATASETS, JOB_NAME
from core.generations import Generation, read_serving, serving_path, write_serving


def test_generation_zero_keeps_the_plain_names() -> None:
    g = Generation(0)
    assert (g.topic("ecommerce.metrics.visits"), g.table("visits"), g.job_name) == (
        "ecommerce.metrics.visits",
        "visits",
        JOB_NAME,
    )


def test_later_generations_get_their_own_names() -> None:
    g = Generation(0).next().next()
    assert g == Generation(2)
    assert (g.topic("ecommerce.metrics.visits"), g.table("visits"), g.job_name) == (
        "ecommerce.metrics.visits.g2",
        "visits_g2",
        f"{JOB_NAME}-g2",
    )
    # no two datasets share a topic or a table in one generation, nor across generations
    names = [(n, d.topic, d.name) for n in range(3) for d in DATASETS]
    topics = {Generation(n).topic(t) for n, t, _ in names}
    tables = {Generation(n).table(t) for n, _, t in names}
    assert len(topics) == len(tables) == len(names)


def test_a_generation_is_not_negative() -> None:
    with pytest.raises(ValueError, match="-1"):
        Generation(-1)


def test_no_record_means_generation_zero(tmp_path: Path) -> None:
    assert read_serving(serving_path(tmp_path)).generation == Generation(0)


def test_the_record_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    path = serving_path(tmp_path)
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    write_serving(path, Generation(1), now=at)
    first_inode = path.stat().st_ino
    assert read_serving(path).generation == Generation(1)
    assert read_serving(path).since == at
    write_serving(path, Generation(2))
    assert read_serving(path).generation == Generation(2)
    assert path.stat().st_ino != first_inode  # a new file renamed over the old, never rewritten in place
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


@pytest.mark.parametrize(
    "text", ["", "{", "[]", '{"generation": "x"}', '{"since": null}', '{"generation": -3}']
)
def test_a_broken_record_is_an_error_not_a_guess(tmp_path: Path, text: str) -> None:
    path = serving_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(ValueError, match="serving record"):
        read_serving(path)


def test_the_record_is_json_other_tools_can_read(tmp_path: Path) -> None:
    path = serving_path(tmp_path)
    write_serving(path, Generation(3), now=datetime(2026, 11, 30, tzinfo=UTC))
    assert json.loads(path.read_text()) == {"generation": 3, "since": "2026-11-30T00:00:00+00:00"}
    assert os.access(path, os.R_OK)
