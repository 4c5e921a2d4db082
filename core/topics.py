"""Kafka topic names: written once, used by the generator, the Flink jobs, Pinot tables and tests."""

from __future__ import annotations

from typing import Final

EVENTS: Final = "ecommerce.events"
"""Raw events from the generator, keyed by session_id."""
DEAD_LETTER: Final = "ecommerce.events.dlq"
"""Events that failed validation, with the raw payload and the reason."""
ACCEPTED_EVENTS: Final = "ecommerce.events.accepted"
"""Valid events, deduplicated by event_id, with is_late and ingest_time; keyed by session_id."""
ACTIVE_USERS: Final = "ecommerce.metrics.active_users"
PRODUCT_METRICS: Final = "ecommerce.metrics.products"
SESSION_METRICS: Final = "ecommerce.metrics.sessions"
ACTIVE_USERS_SLIDING: Final = "ecommerce.metrics.active_users_sliding"
REFERRER_TRAFFIC: Final = "ecommerce.metrics.referrers"
USER_DAYS: Final = "ecommerce.metrics.user_days"
VISITS: Final = "ecommerce.metrics.visits"
ENRICHED_PRODUCT_EVENTS: Final = "ecommerce.events.enriched"
DIM_PRODUCTS: Final = "ecommerce.dim.products"
"""The product catalogue (core.dimensions.ProductInfo), compacted, keyed by product_id."""
DIM_CUSTOMERS: Final = "ecommerce.dim.customers"
"""The customer register (core.dimensions.CustomerInfo), compacted, keyed by user_id."""

PARTITIONS: Final = 3
