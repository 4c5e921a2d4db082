-- The payload parser used by the source's event time and by generated/view_parsed_events.sql
-- (flink_jobs/udf, built by `make setup` and shipped with the job).
CREATE TEMPORARY SYSTEM FUNCTION JSON_FIELDS AS 'rta.udf.JsonFields' LANGUAGE JAVA
