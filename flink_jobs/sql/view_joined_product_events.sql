-- Each accepted product event with the version of its product and of its customer valid at its event
-- time (event-time temporal joins; docs/pipeline.md "Enrichment"). No version yet: 'unknown', never
-- dropped. A join emits an event once the watermark passes it, so these rows trail the others by the
-- watermark delay.
CREATE TEMPORARY VIEW joined_product_events AS
SELECT
  e.event_id, e.event_type, e.event_timestamp, e.user_id, e.session_id, e.product_id, e.order_id,
  e.quantity, e.total_amount,
  COALESCE(p.brand, '${unknown}') AS brand,
  COALESCE(c.state, '${unknown}') AS customer_state,
  COALESCE(c.country, '${unknown}') AS customer_country
FROM accepted_events AS e
LEFT JOIN dim_products FOR SYSTEM_TIME AS OF e.event_time AS p ON e.product_id = p.product_id
LEFT JOIN dim_customers FOR SYSTEM_TIME AS OF e.event_time AS c ON e.user_id = c.user_id
WHERE e.event_type <> 'page_view'
