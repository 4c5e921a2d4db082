-- Sessions are not windowed: every accepted event updates its session's row (upsert by session_id).
INSERT INTO session_metrics
SELECT /*+ STATE_TTL('accepted_events' = '${session_ttl}') */
  session_id,
  MAX(user_id) AS `user_id`,
  MAX(device_type) AS `device_type`,
  MAX(os) AS `os`,
  MAX(browser) AS `browser`,
  MAX(location) AS `location`,
  COUNT(*) AS `events`,
  COUNT(*) FILTER (WHERE event_type = 'page_view') AS `page_views`,
  -- The URL of the earliest page view, ties by the smallest URL: MIN over "event time, zero-padded,
  -- then URL" strings (Flink compares strings as UTF-8 bytes, i.e. by code point), the time cut off
  -- after. A late page view that came first takes over; the state is one string per session.
  SUBSTRING(
    MIN(LPAD(CAST(event_timestamp AS STRING), 15, '0') || page_url) FILTER (WHERE event_type = 'page_view')
    FROM 16
  ) AS `landing_page`,
  DISTINCT_COUNT(product_id) FILTER (WHERE event_type = 'product_view') AS `products_viewed`,
  DISTINCT_COUNT(product_id) FILTER (WHERE event_type = 'add_to_cart') AS `products_carted`,
  DISTINCT_COUNT(order_id) AS `orders`,
  COALESCE(SUM(CAST(quantity AS BIGINT)) FILTER (WHERE event_type = 'purchase'), 0) AS `units`,
  COALESCE(SUM(total_amount), 0) AS `revenue`,
  MIN(event_timestamp) AS `first_event_time`,
  MAX(event_timestamp) AS `last_event_time`${touched_rows}
FROM accepted_events
GROUP BY session_id
