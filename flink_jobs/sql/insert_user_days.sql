-- One row per business day and user: the event time of the user's first event that day. Running
-- distinct users since the start of the day are a prefix sum over these first-seen times, taken when
-- queried: a CUMULATE window aggregate would drop late events (docs/pipeline.md). A late event that
-- happened first lowers `first_seen`; `events` only grows, so Pinot keeps the newest row.
INSERT INTO user_days
SELECT /*+ STATE_TTL('accepted_events' = '${business_day_ttl}') */
  BUSINESS_DAY(event_timestamp, ${business_time_zone}) AS `business_day`,
  user_id,
  MIN(event_timestamp) AS `first_seen`,
  COUNT(*) AS `events`${touched_rows}
FROM accepted_events
GROUP BY BUSINESS_DAY(event_timestamp, ${business_time_zone}), user_id
