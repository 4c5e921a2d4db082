-- An updating row per 5-minute window and referrer host (upsert by both): a late page view corrects
-- its window instead of being dropped, and `page_views` only grows, so Pinot keeps the newest row.
INSERT INTO referrer_traffic
SELECT /*+ STATE_TTL('referred_page_views' = '${metrics_ttl}') */
  window_start_ms AS `window_start`,
  window_start_ms + 300000 AS `window_end`,
  referrer_host AS `referrer_host`,
  COUNT(*) AS `page_views`,
  DISTINCT_COUNT(session_id) AS `sessions`${touched_rows}
FROM referred_page_views
GROUP BY window_start_ms, referrer_host
