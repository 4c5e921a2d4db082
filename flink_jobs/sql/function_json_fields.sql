-- Parses each payload once for generated/view_parsed_events.sql: every field's value tagged with its
-- JSON type (flink_jobs/udf, built by `make setup` and shipped with the job).
CREATE TEMPORARY SYSTEM FUNCTION JSON_FIELDS AS 'rta.udf.JsonFields' LANGUAGE JAVA
