"""The four e-commerce events: one Pydantic model each, one discriminated union, one wire format.

Wire format: a flat JSON object per event with `event_type` as discriminator and `event_timestamp`
as integer epoch milliseconds or an ISO-8601 date-time (core/wire.py). Fields that do not belong to an
event type are absent (and ignored if present, like unknown fields, so producers can add fields before
consumers know them). Types are strict on the wire: a number is a JSON number and a string a JSON
string ("12.5" is not a price); text is valid Unicode without control characters.

These models are the event contract's source: `core.contract` derives the rule table from them, which
both the Python checker (`core.contract.check`) and the Flink job's Java checker (flink_jobs/udf) run;
Pinot's events schema is generated from them too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from core import wire


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
    return _EPOCH + millis * _MILLI  # exact: no float seconds in between


# Timezone-aware in Python, integer epoch millis on the wire (what Flink and Pinot read natively).
EpochMillis = Annotated[AwareDatetime, PlainSerializer(to_epoch_millis, return_type=int, when_used="json")]


def _valid_text(value: str) -> str:
    problem = wire.text_problem(value)
    if problem is not None:
        raise PydanticCustomError("invalid_text", "text must not contain a {problem}", {"problem": problem})
    return value


VALID_TEXT = AfterValidator(_valid_text)
"""Text without control characters or unpaired surrogates (core/wire.py); lengths count code points."""


MAX_PRICE = 1_000_000
MAX_QUANTITY = 1000
Money = Annotated[float, Field(ge=0, le=MAX_PRICE, allow_inf_nan=False, strict=True)]
Id = Annotated[str, Field(min_length=1, max_length=64), VALID_TEXT]
MONEY_TOLERANCE = 0.01
"""total_amount may differ from price x quantity (computed in doubles) by at most one cent."""


class BaseEvent(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=True)

    event_id: Id
    event_type: EventType
    event_timestamp: EpochMillis
    user_id: Id
    session_id: Id
    device_type: DeviceType
    os: Annotated[str, Field(min_length=1, max_length=32), VALID_TEXT]
    browser: Annotated[str, Field(min_length=1, max_length=32), VALID_TEXT]
    location: Annotated[str, Field(min_length=1, max_length=64), VALID_TEXT]

    @field_validator("event_timestamp", mode="before")
    @classmethod
    def _millis_in(cls, value: Any, info: ValidationInfo) -> Any:
        # Integer epoch millis or an ISO-8601 string (core/wire.py); bool is an int subclass, and float
        # seconds would pass pydantic's lax datetime parsing: both are malformed here. A naive ISO time
        # is read in the zone given as validation context ("naive_zone"), UTC by default.
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            zone = (info.context or {}).get("naive_zone", "UTC")
            try:
                value = wire.iso_to_epoch_millis(value, zone)
            except wire.TimestampFormatError as exc:
                raise PydanticCustomError(
                    "bad_format", "not an accepted timestamp: {why}", {"why": str(exc)}
                ) from exc
        if isinstance(value, int) and not isinstance(value, bool):
            if not wire.MIN_EVENT_MILLIS <= value < wire.MAX_EVENT_MILLIS:
                raise PydanticCustomError("out_of_range", "event_timestamp must be in [2000, 2070)")
            return from_epoch_millis(value)
        raise PydanticCustomError("wrong_type", "event_timestamp must be epoch milliseconds or ISO-8601")

    @field_validator("event_timestamp", mode="after")
    @classmethod
    def _millisecond_precision(cls, value: datetime) -> datetime:
        # The wire carries milliseconds; keeping more in memory would make a round trip lossy.
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def to_json_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()


class PageView(BaseEvent):
    event_type: Literal[EventType.PAGE_VIEW] = EventType.PAGE_VIEW
    page_url: Annotated[str, Field(min_length=1, max_length=512), VALID_TEXT]
    referrer_url: Annotated[str, Field(min_length=0, max_length=512), VALID_TEXT] | None = None
    time_spent: Annotated[float, Field(ge=0, le=86_400, allow_inf_nan=False, strict=True)]
    """Seconds spent on the page (at most a day)."""


class _ProductFields(BaseEvent):
    product_id: Id
    product_name: Annotated[str, Field(min_length=1, max_length=128), VALID_TEXT]
    product_category: Annotated[str, Field(min_length=1, max_length=64), VALID_TEXT]
    price: Money


class ProductView(_ProductFields):
    event_type: Literal[EventType.PRODUCT_VIEW] = EventType.PRODUCT_VIEW


class AddToCart(_ProductFields):
    event_type: Literal[EventType.ADD_TO_CART] = EventType.ADD_TO_CART
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]


class Purchase(_ProductFields):
    """One order line: an order of several products is several purchase events with one order_id."""

    event_type: Literal[EventType.PURCHASE] = EventType.PURCHASE
    order_id: Id
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]
    total_amount: Annotated[float, Field(ge=0, le=MAX_PRICE * MAX_QUANTITY, allow_inf_nan=False, strict=True)]

    @model_validator(mode="after")
    def _total_is_price_times_quantity(self) -> Purchase:
        # IEEE-754 double arithmetic, the same in Python and Java: no rounding mode to disagree on.
        if not abs(self.total_amount - self.price * self.quantity) <= MONEY_TOLERANCE:
            raise PydanticCustomError("total_mismatch", "total_amount must equal price x quantity")
        return self


EVENT_MODELS: tuple[type[BaseEvent], ...] = (PageView, ProductView, AddToCart, Purchase)

Event = Annotated[PageView | ProductView | AddToCart | Purchase, Field(discriminator="event_type")]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
