-- Reads one integer field of a payload, for the source's event time (flink_jobs/udf, built by
-- `make setup` and shipped with the job).
CREATE TEMPORARY SYSTEM FUNCTION JSON_EPOCH_MILLIS AS 'rta.udf.JsonEpochMillis' LANGUAGE JAVA
