"""The generator's catalogue and user pool as dimension rows (core/dimensions.py), for the compacted
dimension topics; a snapshot when a run starts, and the versions of a change (a price, a move)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import orjson

from core.dimensions import CustomerInfo, ProductInfo
from core.events import to_epoch_millis
from event_generator.behaviour import EventStream
from event_generator.catalog import SUBDIVISIONS, Product, User


def product_info(p: Product, valid_from: datetime) -> ProductInfo:
    return ProductInfo(
        product_id=p.product_id,
        product_name=p.name,
        brand=p.brand,
        category=p.category,
        price=p.price,
        rating=p.rating,
        updated_at=valid_from,
    )


def customer_info(u: User, valid_from: datetime, now: datetime) -> CustomerInfo:
    signup = min(now - timedelta(days=u.signup_days_ago), valid_from)
    return CustomerInfo(
        user_id=u.user_id, state=u.state, country=u.country, signup_time=signup, updated_at=valid_from
    )


def kafka_record(row: ProductInfo | CustomerInfo) -> tuple[bytes, bytes]:
    """(key, value) of a dimension row on its topic: keyed by its id as a JSON object, times as epoch ms."""
    body = row.model_dump()
    body["updated_at"] = to_epoch_millis(row.updated_at)
    if isinstance(row, CustomerInfo):
        body["signup_time"] = to_epoch_millis(row.signup_time)
        key = {"user_id": row.user_id}
    else:
        key = {"product_id": row.product_id}
    return orjson.dumps(key), orjson.dumps(body)


def snapshot(
    catalog: list[Product], users: list[User], valid_from: datetime
) -> tuple[list[ProductInfo], list[CustomerInfo]]:
    """Every product and customer, valid from `valid_from` (before the first event of the run)."""
    return (
        [product_info(p, valid_from) for p in catalog],
        [customer_info(u, valid_from, valid_from) for u in users],
    )


class Changes:
    """Occasional changes to the world an EventStream draws from, each a new dimension version valid from
    the event time it happens at: a product's price moves by up to 20 %, or a customer moves to another
    state of their country. Later events see the new price. Drawn from a generator of their own, so the
    events of a seed stay the same whether changes happen or not."""

    def __init__(self, stream: EventStream, seed: int) -> None:
        self.stream = stream
        self.rng = random.Random(f"changes-{seed}")

    def next(self, at: datetime) -> ProductInfo | CustomerInfo:
        if self.rng.random() < 0.5:
            i = self.rng.randrange(len(self.stream.catalog))
            p = self.stream.catalog[i]
            changed = replace(p, price=max(0.01, round(p.price * self.rng.uniform(0.8, 1.2), 2)))
            self.stream.catalog[i] = changed
            return product_info(changed, at)
        i = self.rng.randrange(len(self.stream.users))
        u = self.stream.users[i]
        moved = replace(u, state=f"{u.country}-{self.rng.choice(SUBDIVISIONS)}")
        self.stream.users[i] = moved
        return customer_info(moved, at, at)
