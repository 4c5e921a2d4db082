-- Each event's visit as it now stands, and any visit row it superseded (rta.udf.Visits): append-only
-- rows keyed by (user_id, visit_start); `version` only grows per key, so Pinot keeps the newest.
INSERT INTO visits
SELECT user_id, visit_start, visit_end, events, page_views, superseded, version${visits_touched}
FROM ${visits_function}(
  input => TABLE visit_events PARTITION BY user_id,
  gap_ms => CAST(${visit_gap_ms} AS BIGINT),
  horizon_ms => CAST(${visit_horizon_ms} AS BIGINT),
  uid => 'visits'
)
