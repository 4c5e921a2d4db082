-- The product catalogue (core.dimensions.ProductInfo), a versioned table: each record is the product's
-- version from `updated_at` on. A record the JSON format cannot read is skipped (its fields null), and
-- a missing `updated_at` counts as the epoch, so that no record can stop the job.
CREATE TABLE dim_products (
  product_id STRING,
  product_name STRING,
  brand STRING,
  category STRING,
  price DOUBLE,
  rating DOUBLE,
  updated_at BIGINT,
  valid_from AS TO_TIMESTAMP_LTZ(COALESCE(updated_at, 0), 3),
  WATERMARK FOR valid_from AS valid_from,
  PRIMARY KEY (product_id) NOT ENFORCED
)
