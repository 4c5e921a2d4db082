-- Unique valid events, each flagged late when its event time is at or behind the watermark on arrival.
-- The flag is informational (data quality): late events still count in their minute (docs/pipeline.md).
CREATE TEMPORARY VIEW accepted_events AS
SELECT *, COALESCE(event_time <= CURRENT_WATERMARK(event_time), FALSE) AS is_late
FROM unique_events
