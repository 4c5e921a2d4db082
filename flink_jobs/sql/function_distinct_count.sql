-- COUNT(DISTINCT x) for append-only input with its set in one state value (flink_jobs/udf, built by
-- `make setup` and shipped with the job): see DistinctCount.java for why.
CREATE TEMPORARY SYSTEM FUNCTION DISTINCT_COUNT AS 'rta.udf.DistinctCount' LANGUAGE JAVA
