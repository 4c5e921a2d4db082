-- An updating row per 5-minute window (upsert by window_start), like the per-minute one: a late event
-- corrects the five windows that hold it instead of being dropped, as long as their state lives
-- (metrics_ttl), and `events` only grows, so Pinot keeps the newest version of each row.
INSERT INTO active_users_sliding
SELECT /*+ STATE_TTL('sliding_events' = '${metrics_ttl}') */
  window_start_ms AS `window_start`,
  window_start_ms + 300000 AS `window_end`,
  DISTINCT_COUNT(user_id) AS `active_users`,
  DISTINCT_COUNT(session_id) AS `sessions`,
  COUNT(*) AS `events`${touched_rows}
FROM sliding_events
GROUP BY window_start_ms
