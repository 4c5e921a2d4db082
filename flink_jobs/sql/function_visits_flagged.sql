-- VISITS with a rebuild's `rta_touched` flag on each row (flink_jobs/since.py): registered and called only
-- in a rebuild's job (`rta backfill --from`).
CREATE TEMPORARY SYSTEM FUNCTION VISITS_FLAGGED AS 'rta.udf.VisitsFlagged' LANGUAGE JAVA
