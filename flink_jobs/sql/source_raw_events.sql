-- The raw events topic, read as bytes so that no payload can fail the job (and invalid UTF-8 is seen,
-- not silently replaced): parsing and validation happen in PARSE_EVENT (generated/view_parsed_events.sql),
-- and rejects go to the dead-letter topic. Event time is that of an event the contract accepts, which
-- includes lying within [record timestamp - max lateness, record timestamp + max future]: one event
-- with a wild timestamp must not drag the watermark years ahead.
CREATE TABLE raw_events (
  payload BYTES,
  source_partition INT METADATA FROM 'partition' VIRTUAL,
  source_offset BIGINT METADATA FROM 'offset' VIRTUAL,
  source_time TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL,
  proc_time AS PROCTIME(),
  event_time AS TO_TIMESTAMP_LTZ(
    EVENT_TIME_MILLIS(payload, EPOCH_MILLIS(source_time), ${contract_arguments}), 3
  ),
  WATERMARK FOR event_time AS event_time - ${watermark_delay}
)
