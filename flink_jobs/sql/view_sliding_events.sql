-- Each event once per 5-minute hopping (sliding) window that holds it: windows start every minute, so an
-- event belongs to five. Grouping by the window start as epoch millis, an expression, keeps the
-- aggregation an updating one (a window aggregation would drop events behind the watermark).
CREATE TEMPORARY VIEW sliding_events AS
SELECT *, ${window_start_millis} AS window_start_ms
FROM TABLE(
  HOP(TABLE accepted_events, DESCRIPTOR(event_time), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)
)
