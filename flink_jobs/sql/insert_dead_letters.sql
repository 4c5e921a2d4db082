INSERT INTO dead_letters
SELECT
  source_partition, source_offset, EPOCH_MILLIS(source_time) AS source_timestamp,
  reason, reason_code, reason_field,
  payload_text AS payload, payload_encoding, payload_bytes
FROM parsed_events
WHERE reason IS NOT NULL
