-- The calendar date in a time zone of an epoch-millis instant (core/business_day.py; flink_jobs/udf).
CREATE TEMPORARY SYSTEM FUNCTION BUSINESS_DAY AS 'rta.udf.BusinessDay' LANGUAGE JAVA
