"""Dimension rows: the product catalogue and the customer register, each version valid from `updated_at`.

The generator writes them to compacted topics keyed by id (core/topics.py); the job joins each event to
the version valid at its event time (a temporal join, docs/pipeline.md "Enrichment"). An event whose key
has no version yet at its event time is counted under `UNKNOWN`, never dropped.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from core.events import VALID_TEXT, EpochMillis, Id, Money

UNKNOWN: Final = "unknown"
"""The brand, state or country of an event whose product or customer has no version at its event time."""

Name = Annotated[str, Field(min_length=1, max_length=64), VALID_TEXT]


class ProductInfo(BaseModel):
    """A product as the catalogue lists it, from `updated_at` until its next version."""

    model_config = ConfigDict(frozen=True)

    product_id: Id
    product_name: Annotated[str, Field(min_length=1, max_length=128), VALID_TEXT]
    brand: Name
    category: Name
    price: Money
    rating: Annotated[float, Field(ge=0, le=5)] = Field(description="mean review stars, 0 to 5")
    updated_at: EpochMillis = Field(description="the event time from which this version is valid")


class CustomerInfo(BaseModel):
    """A customer as the register knows them, from `updated_at` until their next version (a move)."""

    model_config = ConfigDict(frozen=True)

    user_id: Id
    state: Name = Field(description="the state or region the customer lives in")
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = Field(description="ISO 3166-1 alpha-2")
    signup_time: EpochMillis
    updated_at: EpochMillis = Field(description="the event time from which this version is valid")
