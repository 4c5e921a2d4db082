"""End to end on the real stack: history sent with its event time as record timestamp, and events shaped
like the reference project's producer (naive ISO times, null referrers, unkeyed records), against the
oracle (tests/support/oracle.py), which reads the raw topic with the record timestamps Kafka kept.
"""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, apply_faults
from tests.support.e2e import (
    assert_pinot_serves,
    assert_topics_exactly_once,
    raw_records,
    running_pipeline,
    send_all,
    settled_records,
)
from tests.support.oracle import expected

pytestmark = pytest.mark.integration


def test_history_counts_in_its_own_minutes_and_sessions(settings: Settings) -> None:
    with running_pipeline(settings, "history") as pipeline:
        start = datetime.now(UTC) - timedelta(hours=24)  # far beyond the 1 h lateness bound of send time
        events = list(islice(EventStream(31, start=start, rate=50.0, users=100, products=40), 300))
        sent = list(apply_faults(events, FaultShares(), seed=31))
        send_all(settings, pipeline.topics.raw_events, sent, rate=1000)
        records = raw_records(settings, pipeline.topics.raw_events)
        assert len(records) == len(events)
        # The rule under test: each record's Kafka timestamp is its event time, a day behind the send.
        assert all(r.timestamp_ms == orjson.loads(r.value or b"")["event_timestamp"] for r in records)
        want = expected(records, settings)
        assert not want.dead_letters
        assert {e.event_id for e in want.accepted} == {e.event_id for e in events}
        assert want.active_users
        assert all(r.window_start < start + timedelta(minutes=1) for r in want.active_users)
        want = expected(settled_records(settings, pipeline.topics.raw_events), settings)
        assert_pinot_serves(settings, pipeline.tables, want)
        assert_topics_exactly_once(settings, pipeline.topics, want)


OS_BY_DEVICE = {
    "desktop": ["Windows", "macOS", "Linux"],
    "mobile": ["iOS", "Android"],
    "tablet": ["iPadOS", "Android"],
}
BROWSERS = ["Chrome", "Safari", "Firefox", "Edge"]
CITIES = ["New York, USA", "London, UK", "Berlin, Germany", "Tokyo, Japan", "Sydney, Australia"]
CATEGORIES = ["Electronics", "Clothing", "Books", "Home & Kitchen", "Sports"]
PAGES = ["home", "deals", "search", "category/electronics", "account", "cart"]


def reference_events(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """Events as the reference project's producer writes them: UUID4 ids, `event_timestamp` as
    `datetime.utcnow().isoformat()` (naive UTC, microseconds; here the last `count` x 50 ms up to now),
    `referrer_url` null on page views, purchases with total_amount = round(price x quantity, 2)."""
    rng = random.Random(seed)
    products: list[dict[str, Any]] = [
        {
            "product_id": str(uuid.uuid4()),
            "product_name": f"Product {i}",
            "product_category": rng.choice(CATEGORIES),
            "price": round(rng.uniform(5, 500), 2),
        }
        for i in range(15)
    ]
    sessions = []
    for _ in range(20):
        device = rng.choice(list(OS_BY_DEVICE))
        sessions.append(
            {
                "user_id": str(uuid.uuid4()),
                "session_id": str(uuid.uuid4()),
                "device_type": device,
                "os": rng.choice(OS_BY_DEVICE[device]),
                "browser": rng.choice(BROWSERS),
                "location": rng.choice(CITIES),
            }
        )
    first = datetime.now(UTC) - timedelta(milliseconds=50 * count)
    events: list[dict[str, Any]] = []
    for i in range(count):
        moment = first + timedelta(milliseconds=50 * i, microseconds=rng.randrange(1000))
        event_type = rng.choices(
            ["page_view", "product_view", "add_to_cart", "purchase"], [0.4, 0.3, 0.2, 0.1]
        )[0]
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "event_timestamp": moment.replace(tzinfo=None).isoformat(timespec="microseconds"),
            **rng.choice(sessions),
        }
        if event_type == "page_view":
            event |= {
                "page_url": f"https://shop.example.com/{rng.choice(PAGES)}",
                "referrer_url": None,
                "time_spent": round(rng.uniform(1, 300), 2),
            }
        else:
            product = rng.choice(products)
            event |= product
            if event_type != "product_view":
                event["quantity"] = rng.randint(1, 5)
            if event_type == "purchase":
                event["order_id"] = str(uuid.uuid4())
                event["total_amount"] = round(product["price"] * event["quantity"], 2)
        events.append(event)
    return events


def send_like_the_reference(settings: Settings, topic: str, events: list[dict[str, Any]]) -> None:
    """A plain KafkaProducer, value only: no key, no timestamp (Kafka stamps the send time)."""
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        value_serializer=lambda v: json.dumps(v).encode("utf-8"),
    )
    futures = [producer.send(topic, value=event) for event in events]
    producer.flush()
    for f in futures:
        f.get(timeout=30)
    producer.close()


def test_events_of_the_reference_producer_are_all_accepted(settings: Settings) -> None:
    with running_pipeline(settings, "reference") as pipeline:
        events = reference_events(200)
        assert any(e["event_type"] == "purchase" for e in events)
        send_like_the_reference(settings, pipeline.topics.raw_events, events)
        records = raw_records(settings, pipeline.topics.raw_events)
        assert len(records) == len(events)
        assert len({r.partition for r in records}) > 1  # unkeyed: spread over the partitions
        want = expected(records, settings)
        assert not want.dead_letters
        assert {e.event_id for e in want.accepted} == {e["event_id"] for e in events}
        want = expected(settled_records(settings, pipeline.topics.raw_events), settings)
        assert_pinot_serves(settings, pipeline.tables, want)
        assert_topics_exactly_once(settings, pipeline.topics, want)
