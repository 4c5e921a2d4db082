-- TIMESTAMP_LTZ -> epoch millis without a detour through text (cannot fail on any record timestamp).
CREATE TEMPORARY SYSTEM FUNCTION EPOCH_MILLIS AS 'rta.udf.EpochMillis' LANGUAGE JAVA
