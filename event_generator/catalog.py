"""Prebuilt worlds for the generator: a product catalogue and a pool of returning users.

Faker is slow per call, so everything Faker makes is built once here; the event loop only draws from
these lists with a seeded `random.Random`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

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

BRANDS: dict[str, tuple[str, ...]] = {
    # invented names, four per category; a product's brand follows from its number, whatever the seed
    "electronics": ("Voltrix", "Pixelon", "Nordwave", "Quantra"),
    "books": ("Inkwell Press", "Foxglove Books", "Harbor House", "Paperlane"),
    "home": ("Hearthly", "Casa Nova", "Linden & Oak", "Homestead"),
    "fashion": ("Aurelle", "Threadline", "Monsoon Row", "Kestrel"),
    "sports": ("Peakform", "Stridewell", "Velocita", "Summit Gear"),
    "toys": ("Brickbox", "Tiny Tundra", "Playfield", "Whirligig"),
    "beauty": ("Lumière", "Petal & Pine", "Glowen", "Silkroot"),
    "grocery": ("Green Basket", "Millstone", "Orchard Lane", "Daily Harvest"),
}

SUBDIVISIONS = ("AN", "BE", "CO", "DU", "EL", "FA")
"""Six made-up subdivisions per country: a country's customers spread over a few states."""

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
    brand: str = ""
    rating: float = 0.0


@dataclass(frozen=True)
class User:
    user_id: str
    device_type: str
    os: str
    browser: str
    location: str
    activity: float
    """Relative chance that this user starts the next session (a few users come back often)."""
    state: str = ""
    signup_days_ago: float = 0.0

    @property
    def country(self) -> str:
        """The ISO country code of the location ("City, CC")."""
        return self.location.rsplit(", ", 1)[-1]


def build_catalog(rng: random.Random, faker: Faker, size: int) -> list[Product]:
    # Brands and ratings come from their own generator: the events of a seed stay what they were.
    extra = random.Random(f"catalog-{size}")
    products = []
    categories = list(CATEGORIES)
    for i in range(size):
        category = categories[i % len(categories)]
        low, high = CATEGORIES[category]
        name = f"{faker.color_name()} {faker.word().capitalize()} {category.rstrip('s').capitalize()}"
        price = round(rng.uniform(low, high), 2)
        brand = BRANDS[category][(i // len(categories)) % len(BRANDS[category])]
        rating = round(extra.uniform(2.5, 5.0), 1)
        products.append(Product(f"p-{i:05d}", name, category, price, rng.paretovariate(1.5), brand, rating))
    return products


def build_users(rng: random.Random, faker: Faker, size: int) -> list[User]:
    weights = [p[3] for p in DEVICE_PROFILES]
    # States and signup dates come from their own generators: the events of a seed stay what they were.
    extra = random.Random(f"users-{size}")
    users = []
    for i in range(size):
        device_type, os_name, browser, _ = rng.choices(DEVICE_PROFILES, weights)[0]
        location = f"{faker.city()}, {faker.country_code()}"
        user = User(f"u-{i:06d}", device_type, os_name, browser, location, rng.paretovariate(1.2))
        # a subdivision of the location's country, named like ISO 3166-2 codes (made up: "FR-KQ")
        state = f"{user.country}-{extra.choice(SUBDIVISIONS)}"
        users.append(replace(user, state=state, signup_days_ago=round(extra.uniform(0, 365), 3)))
    return users
