"""ServedTables: fixed tables, or the generation the serving record names, switched whole."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import pytest

from core.datasets import DATASETS
from core.generations import Generation, serving_path, write_serving
from query.analytics import Tables
from query.serving import ServedTables


def test_tables_cover_every_dataset_in_each_generation() -> None:
    assert {f.name for f in fields(Tables)} == {d.name for d in DATASETS}
    assert asdict(Tables.for_generation(Generation(0))) == {d.name: d.name for d in DATASETS}
    assert asdict(Tables.for_generation(Generation(4))) == {d.name: f"{d.name}_g4" for d in DATASETS}


def test_fixed_tables_stay() -> None:
    fixed = Tables(events="mine")
    served = ServedTables(fixed=fixed)
    assert served.current() is fixed
    assert served.generation is None


def test_one_source_or_the_other() -> None:
    with pytest.raises(ValueError, match="one of the two"):
        ServedTables()
    with pytest.raises(ValueError, match="one of the two"):
        ServedTables(fixed=Tables(), record=Path("x"))


def test_the_record_switches_every_table_at_once(tmp_path: Path) -> None:
    record = serving_path(tmp_path)
    served = ServedTables(record=record)
    assert served.current() == Tables()
    assert served.generation == Generation(0)
    write_serving(record, Generation(1))
    assert served.current() == Tables.for_generation(Generation(1))
    assert served.generation == Generation(1)
    write_serving(record, Generation(2))
    assert served.current() == Tables.for_generation(Generation(2))


def test_a_broken_record_keeps_what_was_served(tmp_path: Path) -> None:
    record = serving_path(tmp_path)
    write_serving(record, Generation(1))
    served = ServedTables(record=record)
    assert served.current().events == "events_g1"
    record.write_text("{not json")
    assert served.current().events == "events_g1"
    write_serving(record, Generation(2))
    assert served.current().events == "events_g2"


def test_a_removed_record_means_generation_zero(tmp_path: Path) -> None:
    record = serving_path(tmp_path)
    write_serving(record, Generation(1))
    served = ServedTables(record=record)
    assert served.current().events == "events_g1"
    record.unlink()
    assert served.current().events == "events"


def test_a_process_does_not_start_on_a_broken_record(tmp_path: Path) -> None:
    record = serving_path(tmp_path)
    record.parent.mkdir(parents=True)
    record.write_text("{")
    with pytest.raises(ValueError, match="serving record"):
        ServedTables(record=record)
