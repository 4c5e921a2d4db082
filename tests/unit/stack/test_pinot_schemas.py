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
            assert table.table["dedupConfig"]["dedupEnabled"] is True
