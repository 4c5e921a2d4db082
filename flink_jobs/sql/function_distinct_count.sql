-- COUNT(DISTINCT x) for append-only input (flink_jobs/udf, built by `make setup` and shipped with the
-- job), its class chosen for the job's state backend: on the heap, one set in one state value
-- (DistinctCount.java says why); on RocksDB, a map state (DistinctCountView.java).
CREATE TEMPORARY SYSTEM FUNCTION DISTINCT_COUNT AS '${distinct_count_class}' LANGUAGE JAVA
