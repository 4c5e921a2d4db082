INSERT INTO product_metrics
SELECT /*+ STATE_TTL('minute_events' = '${metrics_ttl}') */
  window_start_ms AS `window_start`,
  window_start_ms + 60000 AS `window_end`,
  product_id,
  MAX(product_name) AS `product_name`,
  MAX(product_category) AS `product_category`,
  COUNT(*) AS `events`,
  COUNT(*) FILTER (WHERE event_type = 'product_view') AS `views`,
  COUNT(*) FILTER (WHERE event_type = 'add_to_cart') AS `add_to_carts`,
  COUNT(*) FILTER (WHERE event_type = 'purchase') AS `purchases`,
  COALESCE(SUM(CAST(quantity AS BIGINT)) FILTER (WHERE event_type = 'purchase'), 0) AS `units`,
  COALESCE(SUM(total_amount) FILTER (WHERE event_type = 'purchase'), 0) AS `revenue`,
  AVG(price) AS `avg_price`${touched_rows}
FROM minute_events
WHERE product_id IS NOT NULL
GROUP BY window_start_ms, product_id
