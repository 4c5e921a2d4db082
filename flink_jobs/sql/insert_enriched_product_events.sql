-- Append-only, exactly once, keyed by session_id like the events.
INSERT INTO enriched_product_events
SELECT * FROM joined_product_events
