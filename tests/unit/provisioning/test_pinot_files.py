import json
from pathlib import Path

from core.datasets import DATASETS, EVENTS, Mode
from provisioning import pinot_files, pinot_tables


def test_committed_pinot_files_match_the_registry() -> None:
    assert pinot_files.stale_files() == [], "run `rta generate` and commit the result"


def test_stale_files_name_a_changed_file_a_missing_one_and_a_stray_folder(tmp_path: Path) -> None:
    pinot_files.write(tmp_path)
    assert pinot_files.stale_files(tmp_path) == []
    table = tmp_path / "active_users" / "table.json"
    config = json.loads(table.read_text())
    config["segmentsConfig"]["retentionTimeValue"] = "1"
    table.write_text(json.dumps(config))
    (tmp_path / "events" / "schema.json").unlink()
    (tmp_path / "old_metric").mkdir()
    assert pinot_files.stale_files(tmp_path) == [
        "active_users/table.json",
        "events/schema.json",
        "old_metric",
    ]
    pinot_files.write(tmp_path)
    assert pinot_files.stale_files(tmp_path) == []
    assert not (tmp_path / "old_metric").exists()


def test_every_generated_table_passes_the_table_checks(tmp_path: Path) -> None:
    pinot_files.write(tmp_path)
    for dataset in DATASETS:
        table = pinot_tables.load(dataset.name, tmp_path)  # load() runs validate()
        assert table.table["tableIndexConfig"]["invertedIndexColumns"] == list(dataset.inverted_index)
        assert table.table["metadata"]["customConfigs"]["purpose"] == dataset.description
        assert table.table["segmentsConfig"]["retentionTimeValue"] == str(dataset.retention_days)


def test_each_dataset_table_reads_its_topic_with_its_keys() -> None:
    for dataset in DATASETS:
        table = pinot_tables.load(dataset.name)
        assert table.topic == dataset.topic
        assert table.schema["primaryKeyColumns"] == list(dataset.primary_key)
        assert table.table["segmentsConfig"]["timeColumnName"] == dataset.time_column
        assert table.table["routing"]["instanceSelectorType"] == "strictReplicaGroup"
        if dataset.mode is Mode.UPSERT:
            assert table.table["upsertConfig"]["comparisonColumn"] == dataset.version_column
        else:
            # Pinot 0.11 keeps dedup keys on the heap for every retained row, with no expiry: the heap
            # would have to grow with retention x rate. Append tables rely on the exactly-once
            # pipeline instead (transactions, read_committed, no replay on restart).
            assert "dedupConfig" not in table.table


def test_pinot_keeps_every_text_value_whole() -> None:
    # Pinot cuts a STRING at maxLength UTF-16 units (default 512); a code point takes up to two. A
    # column copied from an event field, or derived from one (a referrer's host), must hold the
    # longest value the event contract admits. The soak test found referrer_host cut without this.
    limits = {c.name: c.max_length for c in EVENTS.columns if c.max_length is not None}
    limits["referrer_host"] = limits["referrer_url"]
    limits["landing_page"] = limits["page_url"]
    for dataset in DATASETS:
        for spec in pinot_files.schema(dataset)["dimensionFieldSpecs"]:
            if spec["dataType"] == "STRING" and spec["name"] in limits:
                assert spec.get("maxLength", 512) >= 2 * limits[spec["name"]], (dataset.name, spec)
