"""The four e-commerce events: one Pydantic model each, one discriminated union, one wire format.

Wire format: a flat JSON object per event with `event_type` as discriminator and `event_timestamp`
as integer epoch milliseconds (UTC). Fields that do not belong to an event type are absent (and ignored
if present, like unknown fields, so producers can add fields before consumers know them).
Types are strict on the wire: a number is a JSON number and a string a JSON string ("12.5" is not a
price). The Flink job enforces the same rules in SQL generated from these models (flink_jobs/codegen.py),
and Pinot's events schema is generated from them too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    field_validator,
    model_validator,
)


class EventType(StrEnum):
    PAGE_VIEW = "page_view"
    PRODUCT_VIEW = "product_view"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"


class DeviceType(StrEnum):
    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLI = timedelta(milliseconds=1)


def to_epoch_millis(value: datetime) -> int:
    # Integer arithmetic: float seconds * 1000 can land 1 ms short (e.g. x.003 -> 2.9999...).
    return (value - _EPOCH) // _MILLI


def from_epoch_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


# Timezone-aware in Python, integer epoch millis on the wire (what Flink and Pinot read natively).
EpochMillis = Annotated[AwareDatetime, PlainSerializer(to_epoch_millis, return_type=int, when_used="json")]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class BaseEvent(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=True)

    event_id: Id
    event_type: EventType
    event_timestamp: EpochMillis
    user_id: Id
    session_id: Id
    device_type: DeviceType
    os: Annotated[str, Field(min_length=1, max_length=32)]
    browser: Annotated[str, Field(min_length=1, max_length=32)]
    location: Annotated[str, Field(min_length=1, max_length=64)]

    @field_validator("event_timestamp", mode="before")
    @classmethod
    def _millis_in(cls, value: Any) -> Any:
        # One wire format: integer epoch millis. bool is an int subclass, and ISO strings or float
        # seconds would be accepted by pydantic's lax datetime parsing; all three are malformed here.
        if isinstance(value, datetime):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return from_epoch_millis(value)
        raise ValueError("event_timestamp must be an integer (epoch milliseconds)")

    @field_validator("event_timestamp", mode="after")
    @classmethod
    def _millisecond_precision(cls, value: datetime) -> datetime:
        # The wire carries milliseconds; keeping more in memory would make a round trip lossy.
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class PageView(BaseEvent):
    event_type: Literal[EventType.PAGE_VIEW] = EventType.PAGE_VIEW
    page_url: Annotated[str, Field(min_length=1, max_length=512)]
    referrer_url: Annotated[str, Field(max_length=512)] | None = None
    time_spent: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True)]
    """Seconds spent on the page."""


class _ProductFields(BaseEvent):
    product_id: Id
    product_name: Annotated[str, Field(min_length=1, max_length=128)]
    product_category: Annotated[str, Field(min_length=1, max_length=64)]
    price: Money


class ProductView(_ProductFields):
    event_type: Literal[EventType.PRODUCT_VIEW] = EventType.PRODUCT_VIEW


class AddToCart(_ProductFields):
    event_type: Literal[EventType.ADD_TO_CART] = EventType.ADD_TO_CART
    quantity: Annotated[int, Field(ge=1, le=1000, strict=True)]


class Purchase(_ProductFields):
    """One order line: an order of several products is several purchase events with one order_id."""

    event_type: Literal[EventType.PURCHASE] = EventType.PURCHASE
    order_id: Id
    quantity: Annotated[int, Field(ge=1, le=1000, strict=True)]
    total_amount: Money

    @model_validator(mode="after")
    def _total_is_price_times_quantity(self) -> Purchase:
        if abs(self.total_amount - round(self.price * self.quantity, 2)) > 0.005:
            raise ValueError("total_amount must equal price x quantity (rounded to cents)")
        return self


EVENT_MODELS: tuple[type[BaseEvent], ...] = (PageView, ProductView, AddToCart, Purchase)

Event = Annotated[PageView | ProductView | AddToCart | Purchase, Field(discriminator="event_type")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(payload: bytes | str) -> Event:
    """Validate one wire payload; raises pydantic.ValidationError with the reason when malformed."""
    return EVENT_ADAPTER.validate_json(payload)
