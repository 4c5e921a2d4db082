-- Each page view with its referrer's host (core/referrers.py: "direct" without a referrer, "internal"
-- for a path on this site) and its 5-minute tumbling window, the start as epoch millis.
CREATE TEMPORARY VIEW referred_page_views AS
SELECT *, ${window_start_millis} AS window_start_ms, ${referrer_host} AS referrer_host
FROM TABLE(TUMBLE(TABLE accepted_events, DESCRIPTOR(event_time), INTERVAL '5' MINUTE))
WHERE event_type = 'page_view'
