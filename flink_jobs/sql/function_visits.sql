-- A user's events split into visits by 30 minutes of inactivity, kept up to date as late events arrive
-- (core.metrics.Visit; flink_jobs/udf rta.udf.Visits, a process table function).
CREATE TEMPORARY SYSTEM FUNCTION VISITS AS 'rta.udf.Visits' LANGUAGE JAVA
