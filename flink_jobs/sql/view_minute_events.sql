-- Each event with its 1-minute tumbling window, the window start as epoch millis (the sinks' key).
CREATE TEMPORARY VIEW minute_events AS
SELECT *, ${window_start_millis} AS window_start_ms
FROM TABLE(TUMBLE(TABLE accepted_events, DESCRIPTOR(event_time), INTERVAL '1' MINUTE))
