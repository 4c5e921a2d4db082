-- VISITS with a rebuild's `rta_touched` flag on each row (flink_jobs/since.py): registered in every job,
-- called only by a rebuild's (`rta backfill --from`).
CREATE TEMPORARY SYSTEM FUNCTION VISITS_FLAGGED AS 'rta.udf.VisitsFlagged' LANGUAGE JAVA
