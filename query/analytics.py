"""The API's queries over the Pinot tables. Every value is a bound parameter (query.sql.bind); the only
names put in SQL text are the fixed column and table names below, chosen from whitelists.

Pre-aggregated tables answer when they can (active_users, product_metrics); the events table answers
whatever needs a dimension filter or a distinct count over more than a minute, exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from core.datasets import ACTIVE_USERS, DEAD_LETTERS, EVENTS, PRODUCT_METRICS, SESSION_METRICS
from query.pinot import Pinot
from query.sql import Value, identifier


@dataclass(frozen=True)
class Filters:
    """Equality filters on event dimensions; None means no filter."""

    device_type: str | None = None
    os: str | None = None
    browser: str | None = None
    location: str | None = None
    product_category: str | None = None

    def active(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}

    @property
    def on_session_dimensions(self) -> bool:
        return any(k != "product_category" for k in self.active())


@dataclass(frozen=True)
class Tables:
    """Table names (tests point them at their own tables)."""

    events: str = EVENTS.name
    dead_letters: str = DEAD_LETTERS.name
    active_users: str = ACTIVE_USERS.name
    product_metrics: str = PRODUCT_METRICS.name
    session_metrics: str = SESSION_METRICS.name


def _where(filters: Filters, params: dict[str, Value], allowed: set[str] | None = None) -> str:
    clauses = []
    for name, value in filters.active().items():
        if allowed is not None and name not in allowed:
            raise ValueError(f"filter {name} is not available here")
        clauses.append(f"{identifier(name)} = :f_{name}")
        params[f"f_{name}"] = value
    return "".join(f" AND {c}" for c in clauses)


def _bucket(column: str) -> str:
    return f"dateTrunc(:unit, {identifier(column)}, 'MILLISECONDS', :tz)"


def _range(start: datetime, end: datetime, unit: str, tz: str) -> dict[str, Value]:
    return {"start": start, "end": end, "unit": unit, "tz": tz}


def active_users(
    pinot: Pinot, t: Tables, start: datetime, end: datetime, unit: str, tz: str, filters: Filters
) -> dict[int, dict[str, Any]]:
    """bucket start (epoch ms) -> active_users, sessions, events."""
    params = _range(start, end, unit, tz)
    if unit == "MINUTE" and not filters.active():
        params.pop("unit"), params.pop("tz")
        rows = pinot.rows(
            f"SELECT window_start AS bucket, active_users, sessions, events FROM {identifier(t.active_users)}"
            " WHERE window_start >= :start AND window_start < :end LIMIT 100000",
            params,
        )
    else:
        where = _where(filters, params)
        rows = pinot.rows(
            f"SELECT {_bucket('event_timestamp')} AS bucket, DISTINCTCOUNT(user_id) AS active_users,"
            f" DISTINCTCOUNT(session_id) AS sessions, COUNT(*) AS events FROM {identifier(t.events)}"
            f" WHERE event_timestamp >= :start AND event_timestamp < :end{where}"
            " GROUP BY bucket LIMIT 100000",
            params,
        )
    return {int(r.pop("bucket")): r for r in rows}


PRODUCT_SORTS = ("views", "add_to_carts", "purchases", "units", "revenue")
# Pinot 0.11 has no FILTER clause together with GROUP BY: conditional sums instead.
_PRODUCT_SUMS_FROM_EVENTS = {
    "events": "COUNT(*)",
    "views": "SUM(CASE WHEN event_type = 'product_view' THEN 1 ELSE 0 END)",
    "add_to_carts": "SUM(CASE WHEN event_type = 'add_to_cart' THEN 1 ELSE 0 END)",
    "purchases": "SUM(CASE WHEN event_type = 'purchase' THEN 1 ELSE 0 END)",
    "units": "SUM(CASE WHEN event_type = 'purchase' THEN quantity ELSE 0 END)",
    "revenue": "SUM(CASE WHEN event_type = 'purchase' THEN total_amount ELSE 0 END)",
    "price_sum": "SUM(price)",
}
_PRODUCT_SUMS_FROM_MINUTES = {
    "events": "SUM(events)",
    "views": "SUM(views)",
    "add_to_carts": "SUM(add_to_carts)",
    "purchases": "SUM(purchases)",
    "units": "SUM(units)",
    "revenue": "SUM(revenue)",
    "price_sum": "SUM(avg_price * events)",  # AVG(price) x COUNT = SUM(price) per minute
}


def _product_source(t: Tables, filters: Filters) -> tuple[str, str, dict[str, str]]:
    """(table, time column, aggregate expressions): minutes unless a session dimension is filtered."""
    if filters.on_session_dimensions:
        return t.events, "event_timestamp", _PRODUCT_SUMS_FROM_EVENTS
    return t.product_metrics, "window_start", _PRODUCT_SUMS_FROM_MINUTES


def _product_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: int(v) if k not in ("revenue", "price_sum") and isinstance(v, float) else v for k, v in row.items()
    }
    events, price_sum = out.pop("events"), out.pop("price_sum")
    out["revenue"] = float(out["revenue"])
    out["avg_price"] = price_sum / events if events else None
    return out


def top_products(
    pinot: Pinot,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    sort: str,
    limit: int,
    offset: int,
    product_ids: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Products ranked by `sort` over [start, end), with all their counts; ties broken by product_id."""
    if sort not in PRODUCT_SORTS:
        raise ValueError(f"unknown sort {sort}")
    table, time_col, sums = _product_source(t, filters)
    params: dict[str, Value] = {"start": start, "end": end, "limit": limit, "offset": offset}
    where = _where(filters, params)
    if product_ids is not None:
        if not product_ids:
            return []
        names = [f"p{i}" for i in range(len(product_ids))]
        params.update(zip(names, product_ids, strict=True))
        where += " AND product_id IN (" + ", ".join(f":{n}" for n in names) + ")"
    if time_col == "event_timestamp":
        where += " AND product_id IS NOT NULL"
    aggregates = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    rows = pinot.rows(
        f"SELECT product_id, product_name, product_category, {aggregates} FROM {identifier(table)}"
        f" WHERE {time_col} >= :start AND {time_col} < :end{where}"
        f" GROUP BY product_id, product_name, product_category"
        f" ORDER BY {identifier(sort)} DESC, product_id LIMIT :limit OFFSET :offset",
        params,
    )
    return [_product_row(r) for r in rows]


def product_series(
    pinot: Pinot,
    t: Tables,
    product_id: str,
    start: datetime,
    end: datetime,
    unit: str,
    tz: str,
    filters: Filters,
) -> dict[int, dict[str, Any]]:
    table, time_col, sums = _product_source(t, filters)
    params = {**_range(start, end, unit, tz), "product_id": product_id}
    where = _where(filters, params)
    aggregates = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    rows = pinot.rows(
        f"SELECT {_bucket(time_col)} AS bucket, {aggregates} FROM {identifier(table)}"
        f" WHERE product_id = :product_id AND {time_col} >= :start AND {time_col} < :end{where}"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    return {int(r.pop("bucket")): _product_row(r) for r in rows}


def product_info(pinot: Pinot, t: Tables, product_id: str) -> dict[str, Any] | None:
    rows = pinot.rows(
        f"SELECT product_id, product_name, product_category FROM {identifier(t.product_metrics)}"
        " WHERE product_id = :product_id LIMIT 1",
        {"product_id": product_id},
    )
    return rows[0] if rows else None


def revenue(
    pinot: Pinot, t: Tables, start: datetime, end: datetime, unit: str, tz: str, filters: Filters
) -> dict[int, dict[str, Any]]:
    """bucket -> revenue, orders (distinct order_id with a line in the bucket), units."""
    params = _range(start, end, unit, tz)
    where = _where(filters, params)
    rows = pinot.rows(
        f"SELECT {_bucket('event_timestamp')} AS bucket, SUM(total_amount) AS revenue,"
        f" DISTINCTCOUNT(order_id) AS orders, SUM(quantity) AS units FROM {identifier(t.events)}"
        f" WHERE event_type = 'purchase' AND event_timestamp >= :start AND event_timestamp < :end{where}"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    return {
        int(r["bucket"]): {
            "revenue": float(r["revenue"]),
            "orders": int(r["orders"]),
            "units": int(r["units"]),
        }
        for r in rows
    }


FUNNEL_BREAKDOWNS = ("device_type", "product_category")


def funnel(
    pinot: Pinot, t: Tables, start: datetime, end: datetime, filters: Filters, breakdown: str | None
) -> list[dict[str, Any]]:
    """Per step: events and distinct sessions; one row per breakdown value (or one row, 'all')."""
    if breakdown is not None and breakdown not in FUNNEL_BREAKDOWNS:
        raise ValueError(f"unknown breakdown {breakdown}")
    segment = f"{identifier(breakdown)} AS segment, " if breakdown else ""
    group = f" AND {identifier(breakdown)} IS NOT NULL GROUP BY {identifier(breakdown)}" if breakdown else ""
    out: dict[str, dict[str, Any]] = {}
    # One query per step: Pinot 0.11 cannot combine GROUP BY with filtered DISTINCTCOUNTs.
    for etype, name in (("product_view", "viewed"), ("add_to_cart", "carted"), ("purchase", "purchased")):
        params: dict[str, Value] = {"start": start, "end": end, "etype": etype}
        where = _where(filters, params)
        rows = pinot.rows(
            f"SELECT {segment}COUNT(*) AS events, DISTINCTCOUNT(session_id) AS sessions"
            f" FROM {identifier(t.events)} WHERE event_type = :etype"
            f" AND event_timestamp >= :start AND event_timestamp < :end{where}{group} LIMIT 1000",
            params,
        )
        for r in rows:
            key = str(r.get("segment", "all"))
            row = out.setdefault(key, {"segment": key})
            row[f"{name}_events"], row[f"{name}_sessions"] = int(r["events"]), int(r["sessions"])
    steps = ("viewed", "carted", "purchased")
    zero = {f"{n}_{k}": 0 for n in steps for k in ("events", "sessions")}
    if not breakdown and not out:
        out["all"] = {"segment": "all"}
    return [{**zero, **out[k]} for k in sorted(out)]


def data_quality(
    pinot: Pinot, t: Tables, start: datetime, end: datetime, unit: str, tz: str
) -> dict[int, dict[str, int]]:
    """Per bucket of arrival time (the Kafka record timestamp): accepted, late, dead-lettered."""
    params = _range(start, end, unit, tz)
    accepted = pinot.rows(
        f"SELECT {_bucket('ingest_time')} AS bucket, COUNT(*) AS accepted,"
        " SUM(CASE WHEN is_late = true THEN 1 ELSE 0 END) AS late"
        f" FROM {identifier(t.events)} WHERE ingest_time >= :start AND ingest_time < :end"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    dead = pinot.rows(
        f"SELECT {_bucket('source_timestamp')} AS bucket, COUNT(*) AS dead_lettered"
        f" FROM {identifier(t.dead_letters)} WHERE source_timestamp >= :start AND source_timestamp < :end"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    out: dict[int, dict[str, int]] = {}
    for r in accepted:
        out.setdefault(int(r["bucket"]), {})
        out[int(r["bucket"])].update(accepted=int(r["accepted"]), late=int(r["late"]))
    for r in dead:
        out.setdefault(int(r["bucket"]), {})["dead_lettered"] = int(r["dead_lettered"])
    return out


SESSION_SORTS = ("last_event_time", "first_event_time", "events", "revenue", "orders")


def session(pinot: Pinot, t: Tables, session_id: str) -> dict[str, Any] | None:
    rows = pinot.rows(
        f"SELECT * FROM {identifier(t.session_metrics)} WHERE session_id = :session_id LIMIT 1",
        {"session_id": session_id},
    )
    return rows[0] if rows else None


def sessions(
    pinot: Pinot,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    user_id: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Sessions active in [start, end) (newest first by default), and how many match in all."""
    if sort not in SESSION_SORTS:
        raise ValueError(f"unknown sort {sort}")
    params: dict[str, Value] = {"start": start, "end": end}
    where = _where(filters, params, allowed={"device_type", "os", "browser", "location"})
    if user_id is not None:
        where += " AND user_id = :user_id"
        params["user_id"] = user_id
    condition = f"last_event_time >= :start AND first_event_time < :end{where}"
    total = pinot.rows(f"SELECT COUNT(*) AS n FROM {identifier(t.session_metrics)} WHERE {condition}", params)
    rows = pinot.rows(
        f"SELECT * FROM {identifier(t.session_metrics)} WHERE {condition}"
        f" ORDER BY {identifier(sort)} DESC, session_id LIMIT :limit OFFSET :offset",
        {**params, "limit": limit, "offset": offset},
    )
    return int(total[0]["n"]), rows


def newest_event_time(pinot: Pinot, t: Tables) -> int | None:
    """The newest event time queryable (epoch ms), or None when there are no events."""
    value = float(pinot.rows(f"SELECT MAX(event_timestamp) AS t FROM {identifier(t.events)}")[0]["t"])
    return int(value) if value > 0 and value != float("inf") else None
