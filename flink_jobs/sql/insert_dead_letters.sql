INSERT INTO dead_letters
SELECT source_partition, source_offset, ${source_time_millis} AS source_timestamp, reason, payload
FROM parsed_events
WHERE reason IS NOT NULL
