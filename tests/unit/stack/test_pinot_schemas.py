from core.datasets import DATASETS, Mode
from stack import pinot_schemas, pinot_tables


def test_committed_schemas_match_the_models() -> None:
    assert pinot_schemas.stale_schemas() == [], "run `python -m stack.pinot_schemas` and commit the result"


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
