-- The customer register (core.dimensions.CustomerInfo), a versioned table: each record is the
-- customer's version from `updated_at` on (a move is a new version). As for the products, an
-- unreadable record is skipped and a missing `updated_at` counts as the epoch.
CREATE TABLE dim_customers (
  user_id STRING,
  state STRING,
  country STRING,
  signup_time BIGINT,
  updated_at BIGINT,
  valid_from AS TO_TIMESTAMP_LTZ(COALESCE(updated_at, 0), 3),
  WATERMARK FOR valid_from AS valid_from,
  PRIMARY KEY (user_id) NOT ENFORCED
)
