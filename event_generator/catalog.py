"""Prebuilt worlds for the generator: a product catalogue and a pool of returning users.

Faker is slow per call, so everything Faker makes is built once here; the event loop only draws from
these lists with a seeded `random.Random`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faker import Faker

CATEGORIES: dict[str, tuple[float, float]] = {
    # category: (min price, max price)
    "electronics": (29.0, 1499.0),
    "books": (5.0, 60.0),
    "home": (9.0, 400.0),
    "fashion": (12.0, 250.0),
    "sports": (8.0, 600.0),
    "toys": (6.0, 120.0),
    "beauty": (4.0, 90.0),
    "grocery": (1.0, 40.0),
}

DEVICE_PROFILES: list[tuple[str, str, str, float]] = [
    # device_type, os, browser, weight
    ("desktop", "Windows", "Chrome", 0.22),
    ("desktop", "Windows", "Edge", 0.07),
    ("desktop", "macOS", "Safari", 0.07),
    ("desktop", "macOS", "Chrome", 0.06),
    ("desktop", "Linux", "Firefox", 0.03),
    ("mobile", "Android", "Chrome", 0.27),
    ("mobile", "iOS", "Safari", 0.20),
    ("tablet", "iPadOS", "Safari", 0.05),
    ("tablet", "Android", "Chrome", 0.03),
]


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price: float
    popularity: float


@dataclass(frozen=True)
class User:
    user_id: str
    device_type: str
    os: str
    browser: str
    location: str
    activity: float
    """Relative chance that this user starts the next session (a few users come back often)."""


def build_catalog(rng: random.Random, faker: Faker, size: int) -> list[Product]:
    products = []
    categories = list(CATEGORIES)
    for i in range(size):
        category = categories[i % len(categories)]
        low, high = CATEGORIES[category]
        name = f"{faker.color_name()} {faker.word().capitalize()} {category.rstrip('s').capitalize()}"
        price = round(rng.uniform(low, high), 2)
        products.append(Product(f"p-{i:05d}", name, category, price, rng.paretovariate(1.5)))
    return products


def build_users(rng: random.Random, faker: Faker, size: int) -> list[User]:
    weights = [p[3] for p in DEVICE_PROFILES]
    users = []
    for i in range(size):
        device_type, os_name, browser, _ = rng.choices(DEVICE_PROFILES, weights)[0]
        location = f"{faker.city()}, {faker.country_code()}"
        users.append(User(f"u-{i:06d}", device_type, os_name, browser, location, rng.paretovariate(1.2)))
    return users
