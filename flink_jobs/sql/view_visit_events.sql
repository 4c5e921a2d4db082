-- What a visit needs of each accepted event: the columns sent to the user's partition of VISITS.
CREATE TEMPORARY VIEW visit_events AS
SELECT user_id, event_type, event_timestamp${after_cut}
FROM accepted_events
