"""Believable shopping sessions: browse pages, look at products, add some to the cart, sometimes buy.

`EventStream` is deterministic: the same seed, start time and rate give the same events, byte for byte.
Event time advances by 1/rate per event (simulated time), so a replay is reproducible whatever the
speed of sending.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from faker import Faker

from core.events import AddToCart, BaseEvent, PageView, ProductView, Purchase
from event_generator.catalog import Product, User, build_catalog, build_users

PAGES = ["/", "/deals", "/new", "/search", "/account", "/help", "/blog", "/stores"]
EXTERNAL_REFERRERS = [
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://news.ycombinator.com/",
    "https://www.instagram.com/",
    "https://t.co/",
    None,
]


@dataclass(frozen=True)
class Behaviour:
    """Probabilities at each step of a session (the funnel's drop-off)."""

    view_product: float = 0.55
    add_to_cart_after_view: float = 0.22
    checkout_with_cart: float = 0.18
    leave: float = 0.12
    max_events: int = 40
    concurrent_sessions: int = 50


@dataclass
class _Session:
    session_id: str
    user: User
    events: int = 0
    last_page: str | None = None
    last_product: Product | None = None
    cart: dict[str, tuple[Product, int]] = field(default_factory=dict)
    category_taste: str | None = None
    order_id: str | None = None
    """Set while checking out: each remaining cart line becomes one purchase event of this order."""


class EventStream:
    def __init__(
        self,
        seed: int,
        *,
        start: datetime,
        rate: float = 100.0,
        users: int = 2_000,
        products: int = 500,
        behaviour: Behaviour | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rng = random.Random(seed)
        faker = Faker()
        faker.seed_instance(seed)
        self.catalog = build_catalog(self.rng, faker, products)
        self.users = build_users(self.rng, faker, users)
        # Cumulative weights, summed once: `choices` with plain weights sums them on every call, which
        # cost ~280 us per new session over 20,000 users. Same draws either way (CPython sums the same
        # floats the same way), so the same seed still gives the same events, byte for byte.
        self._user_cum_weights = list(accumulate(u.activity for u in self.users))
        self._product_cum_weights = list(accumulate(p.popularity for p in self.catalog))
        self.behaviour = behaviour or Behaviour()
        self.start = start
        self.step = timedelta(seconds=1 / rate)
        self._sessions: list[_Session] = []
        self._emitted = 0

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _new_session(self) -> _Session:
        user = self.rng.choices(self.users, cum_weights=self._user_cum_weights)[0]
        return _Session(self._id(), user, category_taste=self.rng.choice(self.catalog).category)

    def _pick_product(self, session: _Session) -> Product:
        if session.category_taste and self.rng.random() < 0.6:
            candidates = [
                p for p in self.rng.sample(self.catalog, 20) if p.category == session.category_taste
            ]
            if candidates:
                return self.rng.choice(candidates)
        return self.rng.choices(self.catalog, cum_weights=self._product_cum_weights)[0]

    def __iter__(self) -> Iterator[BaseEvent]:
        return self

    def __next__(self) -> BaseEvent:
        b = self.behaviour
        while len(self._sessions) < b.concurrent_sessions:
            self._sessions.append(self._new_session())
        index = self.rng.randrange(len(self._sessions))
        session = self._sessions[index]
        ts = self.start + self.step * self._emitted
        event, finished = self._next_event(session, ts)
        session.events += 1
        if finished or (session.events >= b.max_events and session.order_id is None):
            self._sessions[index] = self._new_session()
        self._emitted += 1
        return event

    def _common(self, session: _Session, ts: datetime) -> dict[str, object]:
        u = session.user
        return {
            "event_id": self._id(),
            "event_timestamp": ts,
            "user_id": u.user_id,
            "session_id": session.session_id,
            "device_type": u.device_type,
            "os": u.os,
            "browser": u.browser,
            "location": u.location,
        }

    def _next_event(self, s: _Session, ts: datetime) -> tuple[BaseEvent, bool]:
        b, rng = self.behaviour, self.rng
        common = self._common(s, ts)
        if s.events == 0:
            return self._page_view(s, common, rng.choice(EXTERNAL_REFERRERS)), False
        if s.order_id is None and s.cart and rng.random() < b.checkout_with_cart:
            s.order_id = f"o-{self._id()}"
        if s.order_id is not None:
            purchase = self._purchase(s, common)
            return purchase, not s.cart  # the session ends once the whole order is bought
        if s.last_product is not None and rng.random() < b.add_to_cart_after_view:
            product = s.last_product
            quantity = rng.choices([1, 2, 3, 4], [0.7, 0.2, 0.07, 0.03])[0]
            s.cart[product.product_id] = (product, s.cart.get(product.product_id, (product, 0))[1] + quantity)
            s.last_product = None
            return AddToCart.model_validate(
                {**common, **_product_fields(product), "quantity": quantity}
            ), False
        if rng.random() < b.leave:
            # Leaving is the last event of the session: a final page view.
            return self._page_view(s, common, s.last_page), True
        if rng.random() < b.view_product:
            product = self._pick_product(s)
            s.last_product = product
            s.last_page = f"/product/{product.product_id}"
            return ProductView.model_validate({**common, **_product_fields(product)}), False
        return self._page_view(s, common, s.last_page), False

    def _page_view(self, s: _Session, common: dict[str, object], referrer: str | None) -> PageView:
        page = self.rng.choice(PAGES)
        s.last_page, s.last_product = page, None
        time_spent = round(self.rng.lognormvariate(3.0, 0.8), 3)
        return PageView.model_validate(
            {**common, "page_url": page, "referrer_url": referrer, "time_spent": time_spent}
        )

    def _purchase(self, s: _Session, common: dict[str, object]) -> Purchase:
        assert s.order_id is not None
        product_id, (product, quantity) = next(iter(s.cart.items()))
        del s.cart[product_id]
        return Purchase.model_validate(
            {
                **common,
                **_product_fields(product),
                "order_id": s.order_id,
                "quantity": quantity,
                "total_amount": round(product.price * quantity, 2),
            }
        )


def _product_fields(p: Product) -> dict[str, object]:
    return {
        "product_id": p.product_id,
        "product_name": p.name,
        "product_category": p.category,
        "price": p.price,
    }
