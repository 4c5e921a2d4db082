-- The raw events topic, read as text so that no payload can fail the job: parsing and validation
-- happen in SQL (generated/view_parsed_events.sql), and rejects go to the dead-letter topic.
-- Event time is trusted only within [record timestamp - max lateness, record timestamp + max future]:
-- one event with a wild timestamp must not drag the watermark years ahead.
CREATE TABLE raw_events (
  payload STRING,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  source_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  proc_time AS PROCTIME(),
  event_time AS CASE
    WHEN TO_TIMESTAMP_LTZ(JSON_EPOCH_MILLIS(payload, 'event_timestamp'), 3)
      BETWEEN source_time - ${max_lateness} AND source_time + ${max_future}
    THEN TO_TIMESTAMP_LTZ(JSON_EPOCH_MILLIS(payload, 'event_timestamp'), 3)
  END,
  WATERMARK FOR event_time AS event_time - ${watermark_delay}
)
