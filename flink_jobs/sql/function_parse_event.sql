-- Checks each raw record against the event contract (flink_jobs/udf, built by `make setup` and shipped
-- with the job; its rule table is generated from core/ by `rta generate`).
CREATE TEMPORARY SYSTEM FUNCTION PARSE_EVENT AS 'rta.udf.ParseEvent' LANGUAGE JAVA
