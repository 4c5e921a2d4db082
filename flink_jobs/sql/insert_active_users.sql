-- An updating row per minute (upsert by window_start): a late event corrects its minute instead of
-- being dropped, and the row's `events` only grows, so Pinot keeps the newest version.
INSERT INTO active_users
SELECT /*+ STATE_TTL('minute_events' = '${metrics_ttl}') */
  window_start_ms AS `window_start`,
  window_start_ms + 60000 AS `window_end`,
  DISTINCT_COUNT(user_id) AS `active_users`,
  DISTINCT_COUNT(session_id) AS `sessions`,
  COUNT(*) AS `events`${touched_rows}
FROM minute_events
GROUP BY window_start_ms
