"""The event contract as one rule table, and its Python checker.

The rule table (`RULES`, `contract_spec()`) is derived from the Pydantic models in core/events.py and the
wire rules in core/wire.py. The Flink job's Java checker (flink_jobs/udf, `EventContract`) reads the
same table, written by `rta generate` as a JSON resource, and applies the rules in the
same order, so both runtimes give the same verdict, the same reason code and the same reason text:

1. the payload: `empty`, `too_large`, `not_utf8`, `not_json`, `not_object` (core/wire.py);
2. `event_type`: `missing`, `wrong_type`, `not_allowed`;
3. each field of that event type, in the models' order, stopping at the first problem: `missing`,
   `wrong_type` (null is a value only where the field is optional), then for text `invalid_text`,
   `too_short`, `too_long`, `not_allowed`; for numbers and timestamps `bad_format` (a timestamp string
   that is not ISO-8601) and `out_of_range` (including numbers too large for a double);
4. purchases: `total_mismatch` when |total_amount - price x quantity| > 0.01 in double arithmetic;
5. when the record's Kafka timestamp is known: `outside_lateness` when event time is more than the
   maximum lateness behind it or the maximum future ahead of it (core/settings.py).

Fields that an event type does not have are ignored, whatever they hold, as are unknown fields.
Shared vectors (tests/vectors/event_contract.jsonl) and a differential fuzz test keep both checkers equal.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from core import wire
from core.columns import Column, Kind, union_columns
from core.events import EVENT_ADAPTER, EVENT_MODELS, MONEY_TOLERANCE, Event

SPEC_VERSION = 1


class Code(StrEnum):
    """Reason classes of a rejected payload (the dead letter's `reason_code`)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING = "missing"
    WRONG_TYPE = "wrong_type"
    BAD_FORMAT = "bad_format"
    INVALID_TEXT = "invalid_text"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOT_ALLOWED = "not_allowed"
    OUT_OF_RANGE = "out_of_range"
    TOTAL_MISMATCH = "total_mismatch"
    OUTSIDE_LATENESS = "outside_lateness"
    QUARANTINED = "quarantined"
    """Set aside by an operator (`rta skip`), not by a rule: the record made the job fail."""
    INTERNAL_ERROR = "internal_error"
    """The Java checker itself failed on the record (a bug): dead-lettered with the exception rather
    than stopping the job. The Python checker never gives it; the tests fail if Java does."""


PAYLOAD_MESSAGES = {
    Code.EMPTY: "empty record",
    Code.TOO_LARGE: f"payload is larger than {wire.MAX_PAYLOAD_BYTES} bytes",
    Code.NOT_UTF8: "payload is not valid UTF-8",
    Code.NOT_JSON: (
        f"payload is not valid JSON (RFC 8259, nested at most {wire.MAX_DEPTH} deep, "
        f"numbers of at most {wire.MAX_NUMBER_CHARS} characters)"
    ),
    Code.NOT_OBJECT: "payload is not a JSON object",
}
TOTAL_FIELD = "total_amount"
TIMESTAMP_FIELD = "event_timestamp"
TOTAL_MESSAGE = f"total_amount must equal price x quantity (within {MONEY_TOLERANCE})"
LATENESS_MESSAGE = "event_timestamp is too far behind or ahead of the record timestamp"

_KIND_WORDS = {
    Kind.STRING: "a string",
    Kind.DOUBLE: "a number",
    Kind.INT: "an integer",
    Kind.LONG: "an integer",
    Kind.EPOCH_MILLIS: "epoch milliseconds (an integer) or an ISO-8601 date-time string",
}


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Rule:
    """What one event field must be, with the reason text for each way it can fail."""

    column: Column
    messages: dict[str, str]

    @property
    def name(self) -> str:
        return self.column.name


def _messages(c: Column) -> dict[str, str]:
    n = c.name
    optional = c.present_in - c.required_for
    word = _KIND_WORDS[c.kind]
    m = {
        Code.MISSING: f"missing {n}",
        Code.WRONG_TYPE: f"{n} must be {word}" + (" or null" if optional else ""),
    }
    if c.kind is Kind.STRING:
        m[Code.INVALID_TEXT] = f"{n} must be text without control characters or unpaired surrogates"
        if c.min_length:
            m[Code.TOO_SHORT] = f"{n} must have at least {c.min_length} characters"
        if c.max_length is not None:
            m[Code.TOO_LONG] = f"{n} must have at most {c.max_length} characters"
        if c.choices:
            m[Code.NOT_ALLOWED] = f"{n} must be one of {list(c.choices)}"
    elif c.kind is Kind.EPOCH_MILLIS:
        m[Code.BAD_FORMAT] = f"{n} must be an ISO-8601 date-time YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM]"
        m[Code.OUT_OF_RANGE] = f"{n} must be in [2000-01-01T00:00:00Z, 2070-01-01T00:00:00Z)"
    else:
        low = _bound(c.ge) if c.ge is not None else "-inf"
        high = _bound(c.le) if c.le is not None else "inf"
        m[Code.OUT_OF_RANGE] = f"{n} must be between {low} and {high}"
    return {str(k): v for k, v in m.items()}


COLUMNS: list[Column] = union_columns(EVENT_MODELS, "event_type")
EVENT_TYPE = next(c for c in COLUMNS if c.name == "event_type")
RULES: list[Rule] = [Rule(c, _messages(c)) for c in COLUMNS if c.name != "event_type"]
EVENT_TYPE_MESSAGES = {
    str(Code.MISSING): "missing event_type",
    str(Code.WRONG_TYPE): "event_type must be a string",
    str(Code.NOT_ALLOWED): f"event_type must be one of {list(EVENT_TYPE.choices)}",
}
FIELD_NAMES: list[str] = [c.name for c in COLUMNS]
"""The checker's output columns, in order (the Flink job's parsed columns)."""


def contract_spec() -> dict[str, Any]:
    """The rule table as JSON-ready data: what the Java checker reads (written by `rta generate`)."""

    def rule(r: Rule) -> dict[str, Any]:
        c = r.column
        return {
            "name": c.name,
            "kind": str(c.kind),
            "present_in": sorted(c.present_in),
            "required_for": sorted(c.required_for),
            "min_length": c.min_length,
            "max_length": c.max_length,
            "ge": c.ge,
            "le": c.le,
            "choices": list(c.choices),
            "messages": r.messages,
        }

    return {
        "version": SPEC_VERSION,
        "limits": {
            "max_payload_bytes": wire.MAX_PAYLOAD_BYTES,
            "max_depth": wire.MAX_DEPTH,
            "max_number_chars": wire.MAX_NUMBER_CHARS,
            "min_event_millis": wire.MIN_EVENT_MILLIS,
            "max_event_millis": wire.MAX_EVENT_MILLIS,
            "max_offset_minutes": wire.MAX_OFFSET_MINUTES,
        },
        "payload_messages": {str(k): v for k, v in PAYLOAD_MESSAGES.items()},
        "event_type": {"choices": list(EVENT_TYPE.choices), "messages": EVENT_TYPE_MESSAGES},
        "fields": [rule(r) for r in RULES],
        "total": {
            "event_type": "purchase",
            "field": TOTAL_FIELD,
            "price": "price",
            "quantity": "quantity",
            "tolerance": MONEY_TOLERANCE,
            "message": TOTAL_MESSAGE,
        },
        "timestamp": {"field": TIMESTAMP_FIELD, "lateness_message": LATENESS_MESSAGE},
        "output": FIELD_NAMES,
    }


@dataclass(frozen=True)
class Verdict:
    """A payload's fate: accepted (`code` None) with its normalised values, or rejected with a reason."""

    code: Code | None = None
    field: str | None = None
    reason: str | None = None
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Accepted only: every output column (None where absent); event_timestamp as epoch millis."""

    @property
    def accepted(self) -> bool:
        return self.code is None

    @property
    def event_type(self) -> str | None:
        value = self.values.get("event_type")
        return str(value) if value is not None else None


def _reject(code: Code, name: str | None = None, messages: dict[str, str] | None = None) -> Verdict:
    text = (messages or {}).get(str(code)) if name else PAYLOAD_MESSAGES.get(code)
    return Verdict(code=code, field=name, reason=text)


class _NumberTooLong(ValueError):
    pass


class _NegativeZero(int):
    """The literal `-0`: the integer 0, but the double -0.0 (as Java's Double.parseDouble reads it)."""


def _int(text: str) -> int:
    if len(text) > wire.MAX_NUMBER_CHARS:
        raise _NumberTooLong(text[:20])
    return _NegativeZero(0) if text == "-0" else int(text)


def _float(text: str) -> float:
    if len(text) > wire.MAX_NUMBER_CHARS:
        raise _NumberTooLong(text[:20])
    return float(text)  # correctly rounded, as Java's Double.parseDouble; overflow gives inf


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


class _TooDeep(ValueError):
    pass


class _Object(dict[str, Any]):
    """A parsed JSON object that knows how deep its text nested, counting values a repeated key
    replaced: the limit is on the payload as written, as the Java checker's streaming parse sees it."""

    depth: int


def _depth(value: Any) -> int:
    if isinstance(value, _Object):
        return value.depth
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    return 0


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)  # a repeated key keeps its last value
    obj.depth = 1 + max((_depth(value) for _, value in pairs), default=0)
    if obj.depth > wire.MAX_DEPTH:
        raise _TooDeep
    return obj


def parse_payload(payload: bytes | None) -> tuple[Any, Verdict | None]:
    """The JSON value of a payload, or the payload-level rejection (rule group 1)."""
    if not payload:
        return None, _reject(Code.EMPTY)
    if len(payload) > wire.MAX_PAYLOAD_BYTES:
        return None, _reject(Code.TOO_LARGE)
    try:
        text = payload.decode("utf-8")  # strict: also refuses encoded surrogates and overlongs
    except UnicodeDecodeError:
        return None, _reject(Code.NOT_UTF8)
    if text.startswith("\ufeff"):
        return None, _reject(Code.NOT_JSON)
    try:
        value = json.loads(
            text, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_object
        )
        too_deep = _depth(value) > wire.MAX_DEPTH
    except (ValueError, RecursionError):  # JSONDecodeError, _NumberTooLong, _TooDeep are ValueErrors
        return None, _reject(Code.NOT_JSON)
    if too_deep:
        return None, _reject(Code.NOT_JSON)
    if not isinstance(value, dict):
        return None, _reject(Code.NOT_OBJECT)
    return value, None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _field(rule: Rule, event_type: str, obj: dict[str, Any], naive_zone: str) -> tuple[Any, Verdict | None]:
    """(normalised value, None) or (None, rejection) for one field of one event type (rule group 3)."""
    c, name = rule.column, rule.name
    if name not in obj:
        if event_type in c.required_for:
            return None, _reject(Code.MISSING, name, rule.messages)
        return None, None
    value = obj[name]
    if value is None:
        if event_type in c.required_for:
            return None, _reject(Code.WRONG_TYPE, name, rule.messages)
        return None, None
    if c.kind is Kind.STRING:
        if not isinstance(value, str):
            return None, _reject(Code.WRONG_TYPE, name, rule.messages)
        if wire.text_problem(value) is not None:
            return None, _reject(Code.INVALID_TEXT, name, rule.messages)
        if c.min_length is not None and len(value) < c.min_length:
            return None, _reject(Code.TOO_SHORT, name, rule.messages)
        if c.max_length is not None and len(value) > c.max_length:
            return None, _reject(Code.TOO_LONG, name, rule.messages)
        if c.choices and value not in c.choices:
            return None, _reject(Code.NOT_ALLOWED, name, rule.messages)
        return value, None
    if c.kind is Kind.EPOCH_MILLIS:
        if isinstance(value, str):
            try:
                value = wire.iso_to_epoch_millis(value, naive_zone)
            except wire.TimestampFormatError:
                return None, _reject(Code.BAD_FORMAT, name, rule.messages)
        elif not _is_int(value):
            return None, _reject(Code.WRONG_TYPE, name, rule.messages)
        if not wire.MIN_EVENT_MILLIS <= value < wire.MAX_EVENT_MILLIS:
            return None, _reject(Code.OUT_OF_RANGE, name, rule.messages)
        return value, None
    if c.kind in (Kind.INT, Kind.LONG):
        if not _is_int(value):
            return None, _reject(Code.WRONG_TYPE, name, rule.messages)
    elif c.kind is Kind.DOUBLE:
        if isinstance(value, _NegativeZero):
            value = -0.0
        elif _is_int(value):
            try:
                value = float(value)  # correctly rounded, as Java's Double.parseDouble of the digits
            except OverflowError:
                value = math.inf
        elif not isinstance(value, float):
            return None, _reject(Code.WRONG_TYPE, name, rule.messages)
        if not math.isfinite(value):
            return None, _reject(Code.OUT_OF_RANGE, name, rule.messages)
    else:  # pragma: no cover - the models have no other kinds
        raise TypeError(f"no rule for kind {c.kind}")
    if (c.ge is not None and value < c.ge) or (c.le is not None and value > c.le):
        return None, _reject(Code.OUT_OF_RANGE, name, rule.messages)
    return value, None


def check(
    payload: bytes | None,
    record_timestamp_ms: int | None = None,
    *,
    naive_zone: str = "UTC",
    max_lateness_ms: int = 3_600_000,
    max_future_ms: int = 300_000,
) -> Verdict:
    """Apply the whole contract to one raw record value (module docstring): accepted or why not.

    `record_timestamp_ms` is the Kafka record timestamp; without it the lateness rule is skipped.
    """
    obj, rejected = parse_payload(payload)
    if rejected is not None:
        return rejected
    if "event_type" not in obj:
        return _reject(Code.MISSING, "event_type", EVENT_TYPE_MESSAGES)
    event_type = obj["event_type"]
    if not isinstance(event_type, str):
        return _reject(Code.WRONG_TYPE, "event_type", EVENT_TYPE_MESSAGES)
    if event_type not in EVENT_TYPE.choices:
        return _reject(Code.NOT_ALLOWED, "event_type", EVENT_TYPE_MESSAGES)
    values: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    values["event_type"] = event_type
    for rule in RULES:
        if event_type not in rule.column.present_in:
            continue
        value, rejected = _field(rule, event_type, obj, naive_zone)
        if rejected is not None:
            return rejected
        values[rule.name] = value
    if event_type == "purchase" and not (
        abs(values["total_amount"] - values["price"] * values["quantity"]) <= MONEY_TOLERANCE
    ):
        return Verdict(code=Code.TOTAL_MISMATCH, field=TOTAL_FIELD, reason=TOTAL_MESSAGE)
    if record_timestamp_ms is not None and not (
        record_timestamp_ms - max_lateness_ms
        <= values[TIMESTAMP_FIELD]
        <= record_timestamp_ms + max_future_ms
    ):
        return Verdict(code=Code.OUTSIDE_LATENESS, field=TIMESTAMP_FIELD, reason=LATENESS_MESSAGE)
    return Verdict(values=values)


class InvalidEvent(ValueError):
    """A payload the contract rejects; `verdict` says why."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(f"{verdict.code}: {verdict.reason}")
        self.verdict = verdict


def event_from(verdict: Verdict, naive_zone: str = "UTC") -> Event:
    """The model instance of an accepted verdict."""
    present = {k: v for k, v in verdict.values.items() if v is not None}
    return EVENT_ADAPTER.validate_python(present, context={"naive_zone": naive_zone})


def parse_event(payload: bytes | str, naive_zone: str = "UTC") -> Event:
    """Validate one wire payload into its event model; raises InvalidEvent with the reason."""
    verdict = check(payload.encode() if isinstance(payload, str) else payload, naive_zone=naive_zone)
    if not verdict.accepted:
        raise InvalidEvent(verdict)
    return event_from(verdict, naive_zone)
