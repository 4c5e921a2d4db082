-- The event time of a record the contract accepts, else NULL: the source's watermark reads it.
CREATE TEMPORARY SYSTEM FUNCTION EVENT_TIME_MILLIS AS 'rta.udf.EventTime' LANGUAGE JAVA
