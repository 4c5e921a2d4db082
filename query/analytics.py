"""The API's queries over the Pinot tables. Each returns an Answer (query/answer.py): its rows and the tables
they came from, which a response reports as `meta.source`. Every value is a typed literal (query.sql.bind /
literal); the only names put in SQL text are the fixed column and table names below, chosen from
whitelists.

Pre-aggregated tables answer when they can (active_users, product_metrics); the events table answers
whatever needs a dimension filter or a distinct count over more than a minute, exactly.

Three rules hold for every query here, each because of a Pinot 0.11 behaviour:

- Buckets: the caller passes bucket boundaries (epoch ms, computed in Python from the request's zone,
  api/buckets.py); a row's bucket is computed in SQL from them (`bucket_sql`), never with Pinot's
  `dateTrunc(..., tz)`, whose bundled zone rules are older than Python's.
- Paging: Pinot 0.11 ignores OFFSET in GROUP BY queries, so ranked lists fetch the first offset + limit rows
  in a total order (the sort key, then the id) and slice here (`page`).
- Absent values: an event type without a field (a page_view has no product_id) is stored as the column's
  default, the string "null" or 0, and `IS NOT NULL` matches every row of a segment built without a null
  vector. So "the field is present" is said with the event types that carry it (`present`): a filter
  `product_category = 'null'` matches only product events whose category is the text "null".
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

from core.choices import (
    FUNNEL_STEPS,
    BrandSort,
    CategorySort,
    FunnelBreakdown,
    LandingPageSort,
    LocationSort,
    ProductSort,
    ReferrerSort,
    RegionSort,
    SessionSort,
    choices,
)
from core.datasets import (
    ACTIVE_USERS,
    ACTIVE_USERS_SLIDING,
    DEAD_LETTERS,
    ENRICHED_PRODUCT_EVENTS,
    EVENTS,
    PRODUCT_METRICS,
    REFERRER_TRAFFIC,
    SESSION_METRICS,
    USER_DAYS,
    VISITS,
)
from core.generations import Generation
from query.answer import Answer
from query.pinot import Queryable
from query.sql import Value, identifier, literal

T = TypeVar("T")
MINUTE_MS = 60_000
MAX_GROUPS = 100_000
"""Pinot's default numGroupsLimit: a GROUP BY keeps at most this many groups per server."""


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
    active_users_sliding: str = ACTIVE_USERS_SLIDING.name
    referrer_traffic: str = REFERRER_TRAFFIC.name
    user_days: str = USER_DAYS.name
    visits: str = VISITS.name
    enriched_product_events: str = ENRICHED_PRODUCT_EVENTS.name

    @classmethod
    def named(cls, overrides: Mapping[str, str]) -> Tables:
        """Default tables but for `overrides` (dataset name -> table, settings.api_tables).

        Raises ValueError naming an unknown dataset or an empty table name.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"api_tables: unknown dataset(s) {unknown}; choose from {sorted(known)}")
        empty = sorted(name for name, table in overrides.items() if not table.strip())
        if empty:
            raise ValueError(f"api_tables: empty table name for {empty}")
        return cls(**overrides)

    @classmethod
    def for_generation(cls, generation: Generation) -> Tables:
        """The tables of a generation of outputs (core/generations.py)."""
        return cls(**{f.name: generation.table(getattr(cls, f.name)) for f in fields(cls)})


def page(rows: Sequence[T], offset: int, limit: int) -> list[T]:
    """Rows offset .. offset + limit - 1 of an ordered result fetched with LIMIT offset + limit."""
    return list(rows[offset : offset + limit])


def present(column: str) -> str | None:
    """SQL that is true exactly for events that carry `column` (None: every event does).

    Said with event_type, which every event has, so it holds on segments with or without Pinot's null
    vectors; a field optional within its event types also needs IS NOT NULL (nullHandlingEnabled tables).
    """
    spec = EVENTS.column(column)
    all_types = EVENTS.column("event_type").choices
    if not spec.nullable or not spec.present_in:
        return None
    clauses = []
    if set(spec.present_in) != set(all_types):
        types = ", ".join(literal(t) for t in sorted(spec.present_in))
        clauses.append(f"event_type IN ({types})")
    if spec.required_for != spec.present_in:
        clauses.append(f"{identifier(column)} IS NOT NULL")
    return " AND ".join(clauses) or None


def _where(
    filters: Filters, params: dict[str, Value], *, events: bool, allowed: set[str] | None = None
) -> str:
    """` AND ...` for the filters; on the events table an absent field never matches (see `present`)."""
    clauses = []
    for name, value in filters.active().items():
        if allowed is not None and name not in allowed:
            raise ValueError(f"filter {name} is not available here")
        clauses.append(f"{identifier(name)} = :f_{name}")
        params[f"f_{name}"] = value
        guard = present(name) if events else None
        if guard:
            clauses.append(guard)
    return "".join(f" AND {c}" for c in clauses)


def bucket_sql(column: str, edges: Sequence[int]) -> str:
    """The start (epoch ms, as a DOUBLE) of the bucket holding `column`, for buckets [edges[i], edges[i+1]).

    Consecutive buckets of one length form a run; within a run the start is arithmetic, and a CASE picks
    the run (one run for UTC or a zone without a change in range; a few around DST changes).
    """
    if len(edges) < 2:
        raise ValueError("a series needs at least one bucket")
    col = identifier(column)
    runs: list[tuple[int, int]] = []  # (first start, bucket length)
    for a, b in itertools.pairwise(edges):
        if not runs or b - a != runs[-1][1]:
            runs.append((a, b - a))
    exprs = [f"({first} + FLOOR(({col} - {first}) / {length}) * {length})" for first, length in runs]
    if len(exprs) == 1:
        return exprs[0]
    whens = " ".join(
        f"WHEN {col} < {next_first} THEN {expr}"
        for expr, (next_first, _) in zip(exprs, runs[1:], strict=False)
    )
    return f"CASE {whens} ELSE {exprs[-1]} END"


def _empty(edges: Sequence[int]) -> bool:
    """No bucket between the edges (an empty range): nothing to read."""
    return len(edges) < 2


def _span(edges: Sequence[int]) -> dict[str, Value]:
    return {"start": int(edges[0]), "end": int(edges[-1])}


def active_users_sliding(
    pinot: Queryable, t: Tables, edges: Sequence[int]
) -> Answer[dict[int, dict[str, Any]]]:
    """window start (epoch ms) -> active_users, sessions, events of the 5-minute window starting then, for
    the windows starting in [edges[0], edges[-1]) (`edges` are minute starts)."""
    if _empty(edges):
        return Answer({}, (t.active_users_sliding,))
    rows = pinot.rows(
        "SELECT window_start, active_users, sessions, events"
        f" FROM {identifier(t.active_users_sliding)}"
        " WHERE window_start >= :start AND window_start < :end LIMIT 100000",
        _span(edges),
    )
    return Answer({int(r.pop("window_start")): r for r in rows}, (t.active_users_sliding,))


def first_seen_per_minute(
    pinot: Queryable, t: Tables, days: Sequence[str], end_ms: int
) -> Answer[dict[str, dict[int, int]]]:
    """business day -> minute start (epoch ms) -> users whose first event that day is in that minute
    (user_days), for the minutes before `end_ms`."""
    if not days:
        return Answer({}, (t.user_days,))
    names = {f"d{i}": day for i, day in enumerate(days)}
    minute = bucket_sql("first_seen", [0, MINUTE_MS])
    rows = pinot.rows(
        f"SELECT business_day, {minute} AS minute, COUNT(*) AS users FROM {identifier(t.user_days)}"
        f" WHERE business_day IN ({', '.join(f':{n}' for n in names)}) AND first_seen < :end"
        f" GROUP BY business_day, minute LIMIT {MAX_GROUPS}",
        {**names, "end": end_ms},
    )
    out: dict[str, dict[int, int]] = {}
    for r in rows:
        out.setdefault(str(r["business_day"]), {})[int(r["minute"])] = int(r["users"])
    return Answer(out, (t.user_days,))


def revenue_per_minute(pinot: Queryable, t: Tables, start_ms: int, end_ms: int) -> Answer[dict[int, float]]:
    """minute start (epoch ms) -> revenue of the purchases in that minute (product_metrics), for the
    minutes starting in [start_ms, end_ms)."""
    if start_ms >= end_ms:
        return Answer({}, (t.product_metrics,))
    rows = pinot.rows(
        f"SELECT window_start, SUM(revenue) AS revenue FROM {identifier(t.product_metrics)}"
        f" WHERE window_start >= :start AND window_start < :end GROUP BY window_start LIMIT {MAX_GROUPS}",
        {"start": start_ms, "end": end_ms},
    )
    return Answer({int(r["window_start"]): float(r["revenue"]) for r in rows}, (t.product_metrics,))


def visits(pinot: Queryable, t: Tables, edges: Sequence[int]) -> Answer[dict[int, dict[str, int]]]:
    """bucket start -> visits starting in the bucket, their bounces (one page view), total duration (ms)
    and page views; superseded visit rows (merged by a late event) left out."""
    if _empty(edges):
        return Answer({}, (t.visits,))
    rows = pinot.rows(
        f"SELECT {bucket_sql('visit_start', edges)} AS bucket, COUNT(*) AS visits,"
        f" {_count_if('page_views = 1')} AS bounces, SUM(visit_end - visit_start) AS duration_ms,"
        f" SUM(page_views) AS page_views FROM {identifier(t.visits)}"
        " WHERE superseded = false AND visit_start >= :start AND visit_start < :end"
        " GROUP BY bucket LIMIT 100000",
        _span(edges),
    )
    return Answer({int(r.pop("bucket")): {k: int(v) for k, v in r.items()} for r in rows}, (t.visits,))


MAX_ROWS = 100_000
"""The most rows one selection here reads; an answer that would need more says it is incomplete."""


def first_seen_per_user(pinot: Queryable, t: Tables, end_ms: int) -> Answer[tuple[dict[str, int], bool]]:
    """user_id -> the event time (epoch ms) of the user's earliest event the user_days table holds
    (its retention) before `end_ms`; and whether every user was counted (False beyond MAX_GROUPS)."""
    rows = pinot.rows(
        # not "AS first_seen": Pinot 0.11 would read the WHERE's first_seen as the alias, MIN() and all
        f"SELECT user_id, MIN(first_seen) AS earliest FROM {identifier(t.user_days)}"
        f" WHERE first_seen < :end GROUP BY user_id LIMIT {MAX_GROUPS}",
        {"end": end_ms},
    )
    firsts = {str(r["user_id"]): int(r["earliest"]) for r in rows}
    return Answer((firsts, len(rows) < MAX_GROUPS), (t.user_days,))


def active_days(
    pinot: Queryable, t: Tables, first_day: str, last_day: str
) -> Answer[tuple[list[tuple[str, str]], bool]]:
    """(user_id, business day) for each day in [first_day, last_day] (ISO dates) a user had an event;
    and whether all were read (False beyond MAX_ROWS)."""
    rows = pinot.rows(
        f"SELECT user_id, business_day FROM {identifier(t.user_days)}"
        " WHERE business_day >= :first AND business_day <= :last LIMIT :n",
        {"first": first_day, "last": last_day, "n": MAX_ROWS},
    )
    days = [(str(r["user_id"]), str(r["business_day"])) for r in rows]
    return Answer((days, len(rows) < MAX_ROWS), (t.user_days,))


def active_users(
    pinot: Queryable, t: Tables, edges: Sequence[int], minute_buckets: bool, filters: Filters
) -> Answer[dict[int, dict[str, int]]]:
    """bucket start (epoch ms) -> active_users, sessions, events. Minute buckets without filters come
    from the per-minute table (a local minute is a UTC minute in every zone since 1972), the rest from
    the events."""
    per_minute = minute_buckets and not filters.active()
    table = t.active_users if per_minute else t.events
    if _empty(edges):
        return Answer({}, (table,))
    params = _span(edges)
    if per_minute:
        rows = pinot.rows(
            f"SELECT window_start AS bucket, active_users, sessions, events FROM {identifier(t.active_users)}"
            " WHERE window_start >= :start AND window_start < :end LIMIT 100000",
            params,
        )
    else:
        where = _where(filters, params, events=True)
        bucket = bucket_sql("event_timestamp", edges)
        rows = pinot.rows(
            f"SELECT {bucket} AS bucket, DISTINCTCOUNT(user_id) AS active_users,"
            f" DISTINCTCOUNT(session_id) AS sessions, COUNT(*) AS events FROM {identifier(t.events)}"
            f" WHERE event_timestamp >= :start AND event_timestamp < :end{where}"
            " GROUP BY bucket LIMIT 100000",
            params,
        )
    return Answer({int(r.pop("bucket")): {k: int(v) for k, v in r.items()} for r in rows}, (table,))


PRODUCT_SORTS = choices(ProductSort)
PRODUCT_EVENT_TYPES = ("add_to_cart", "product_view", "purchase")
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


@dataclass(frozen=True)
class _ProductSource:
    table: str
    time_column: str
    sums: dict[str, str]
    events: bool

    def where(self, filters: Filters, params: dict[str, Value]) -> str:
        where = _where(filters, params, events=self.events)
        if self.events:  # only product events have a product: page views store product_id "null"
            where += f" AND {present('product_id')}"
        return where


def _product_source(t: Tables, filters: Filters) -> _ProductSource:
    """Minutes unless a session dimension is filtered (the minute rows have no session dimensions)."""
    if filters.on_session_dimensions:
        return _ProductSource(t.events, "event_timestamp", _PRODUCT_SUMS_FROM_EVENTS, events=True)
    return _ProductSource(t.product_metrics, "window_start", _PRODUCT_SUMS_FROM_MINUTES, events=False)


def _product_row(row: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: int(v) if k not in ("revenue", "price_sum") and isinstance(v, float) else v for k, v in row.items()
    }
    events, price_sum = out.pop("events"), out.pop("price_sum")
    out["revenue"] = float(out["revenue"])
    out["avg_price"] = price_sum / events if events else None
    return out


def top_products(
    pinot: Queryable,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    sort: str,
    limit: int,
    offset: int,
) -> Answer[list[dict[str, Any]]]:
    """Products offset + 1 .. offset + limit when ranked by `sort` over [start, end), descending, ties
    broken by product_id (so every product has one rank); with all their totals."""
    if sort not in PRODUCT_SORTS:
        raise ValueError(f"unknown sort {sort}")
    source = _product_source(t, filters)
    params: dict[str, Value] = {"start": start, "end": end, "n": offset + limit}
    where = source.where(filters, params)
    aggregates = ", ".join(f"{expr} AS {name}" for name, expr in source.sums.items())
    col = source.time_column
    rows = pinot.rows(
        f"SELECT product_id, product_name, product_category, {aggregates} FROM {identifier(source.table)}"
        f" WHERE {col} >= :start AND {col} < :end{where}"
        " GROUP BY product_id, product_name, product_category"
        f" ORDER BY {identifier(sort)} DESC, product_id LIMIT :n",
        params,
    )
    return Answer([_product_row(r) for r in page(rows, offset, limit)], (source.table,))


def product_totals(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, filters: Filters, product_ids: Sequence[str]
) -> Answer[dict[str, dict[str, Any]]]:
    """product_id -> totals over [start, end) for the given products (absent: no activity)."""
    source = _product_source(t, filters)
    if not product_ids:
        return Answer({}, (source.table,))
    params: dict[str, Value] = {"start": start, "end": end, "n": len(product_ids)}
    where = source.where(filters, params)
    names = [f"p{i}" for i in range(len(product_ids))]
    params.update(zip(names, product_ids, strict=True))
    where += " AND product_id IN (" + ", ".join(f":{n}" for n in names) + ")"
    aggregates = ", ".join(f"{expr} AS {name}" for name, expr in source.sums.items())
    col = source.time_column
    rows = pinot.rows(
        f"SELECT product_id, {aggregates} FROM {identifier(source.table)}"
        f" WHERE {col} >= :start AND {col} < :end{where} GROUP BY product_id LIMIT :n",
        params,
    )
    return Answer({str(r.pop("product_id")): _product_row(r) for r in rows}, (source.table,))


def product_series(
    pinot: Queryable, t: Tables, product_id: str, edges: Sequence[int], filters: Filters
) -> Answer[dict[int, dict[str, Any]]]:
    """bucket start -> one product's totals in the bucket (absent: no activity)."""
    source = _product_source(t, filters)
    if _empty(edges):
        return Answer({}, (source.table,))
    params: dict[str, Value] = {**_span(edges), "product_id": product_id}
    where = source.where(filters, params)
    aggregates = ", ".join(f"{expr} AS {name}" for name, expr in source.sums.items())
    col = source.time_column
    rows = pinot.rows(
        f"SELECT {bucket_sql(col, edges)} AS bucket, {aggregates} FROM {identifier(source.table)}"
        f" WHERE product_id = :product_id AND {col} >= :start AND {col} < :end{where}"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    return Answer({int(r.pop("bucket")): _product_row(r) for r in rows}, (source.table,))


def product_info(pinot: Queryable, t: Tables, product_id: str) -> Answer[dict[str, Any] | None]:
    """The product's id, name and category from its minute rows; None when it has none."""
    rows = pinot.rows(
        f"SELECT product_id, product_name, product_category FROM {identifier(t.product_metrics)}"
        " WHERE product_id = :product_id LIMIT 1",
        {"product_id": product_id},
    )
    return Answer(rows[0] if rows else None, (t.product_metrics,))


def revenue(
    pinot: Queryable, t: Tables, edges: Sequence[int], filters: Filters
) -> Answer[dict[int, dict[str, Any]]]:
    """bucket start -> revenue, orders (distinct order_id with a line in the bucket), units."""
    if _empty(edges):
        return Answer({}, (t.events,))
    params = _span(edges)
    where = _where(filters, params, events=True)
    rows = pinot.rows(
        f"SELECT {bucket_sql('event_timestamp', edges)} AS bucket, SUM(total_amount) AS revenue,"
        f" DISTINCTCOUNT(order_id) AS orders, SUM(quantity) AS units FROM {identifier(t.events)}"
        f" WHERE event_type = 'purchase' AND event_timestamp >= :start AND event_timestamp < :end{where}"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    out = {
        int(r["bucket"]): {
            "revenue": float(r["revenue"]),
            "orders": int(r["orders"]),
            "units": int(r["units"]),
        }
        for r in rows
    }
    return Answer(out, (t.events,))


FUNNEL_BREAKDOWNS = choices(FunnelBreakdown)


def funnel(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, filters: Filters, breakdown: str | None
) -> Answer[list[dict[str, Any]]]:
    """Per step: events and distinct sessions; one row per breakdown value (or one row, 'all')."""
    if breakdown is not None and breakdown not in FUNNEL_BREAKDOWNS:
        raise ValueError(f"unknown breakdown {breakdown}")
    segment = f"{identifier(breakdown)} AS segment, " if breakdown else ""
    group = f" GROUP BY {identifier(breakdown)}" if breakdown else ""
    guard = present(breakdown) if breakdown else None
    out: dict[str, dict[str, Any]] = {}
    # One query per step: Pinot 0.11 cannot combine GROUP BY with filtered DISTINCTCOUNTs.
    for etype, name in FUNNEL_STEPS:
        params: dict[str, Value] = {"start": start, "end": end, "etype": etype}
        where = _where(filters, params, events=True) + (f" AND {guard}" if guard else "")
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
    steps = [name for _, name in FUNNEL_STEPS]
    zero = {f"{n}_{k}": 0 for n in steps for k in ("events", "sessions")}
    if not breakdown and not out:
        out["all"] = {"segment": "all"}
    return Answer([{**zero, **out[k]} for k in sorted(out)], (t.events,))


def data_quality(pinot: Queryable, t: Tables, edges: Sequence[int]) -> Answer[dict[int, dict[str, int]]]:
    """Per bucket of arrival time (the Kafka record timestamp): accepted, late, dead-lettered."""
    tables = (t.events, t.dead_letters)
    if _empty(edges):
        return Answer({}, tables)
    params = _span(edges)
    accepted = pinot.rows(
        f"SELECT {bucket_sql('ingest_time', edges)} AS bucket, COUNT(*) AS accepted,"
        " SUM(CASE WHEN is_late = true THEN 1 ELSE 0 END) AS late"
        f" FROM {identifier(t.events)} WHERE ingest_time >= :start AND ingest_time < :end"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    dead = pinot.rows(
        f"SELECT {bucket_sql('source_timestamp', edges)} AS bucket, COUNT(*) AS dead_lettered"
        f" FROM {identifier(t.dead_letters)} WHERE source_timestamp >= :start AND source_timestamp < :end"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    out: dict[int, dict[str, int]] = {}
    for r in accepted:
        out.setdefault(int(r["bucket"]), {}).update(accepted=int(r["accepted"]), late=int(r["late"]))
    for r in dead:
        out.setdefault(int(r["bucket"]), {})["dead_lettered"] = int(r["dead_lettered"])
    return Answer(out, tables)


SESSION_SORTS = choices(SessionSort)


def session(pinot: Queryable, t: Tables, session_id: str) -> Answer[dict[str, Any] | None]:
    """The session's row (session_metrics); None when there is none."""
    rows = pinot.rows(
        f"SELECT * FROM {identifier(t.session_metrics)} WHERE session_id = :session_id LIMIT 1",
        {"session_id": session_id},
    )
    return Answer(rows[0] if rows else None, (t.session_metrics,))


def sessions(
    pinot: Queryable,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    user_id: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> Answer[tuple[int, list[dict[str, Any]]]]:
    """Sessions active in [start, end), sorted by `sort` descending then session_id, the page at `offset`;
    and how many match in all. The order is fetched as ids (offset + limit of them) and sliced here, then
    the page's rows are read by id."""
    if sort not in SESSION_SORTS:
        raise ValueError(f"unknown sort {sort}")
    params: dict[str, Value] = {"start": start, "end": end}
    where = _where(filters, params, events=False, allowed={"device_type", "os", "browser", "location"})
    if user_id is not None:
        where += " AND user_id = :user_id"
        params["user_id"] = user_id
    table = identifier(t.session_metrics)
    condition = f"last_event_time >= :start AND first_event_time < :end{where}"
    total = pinot.rows(f"SELECT COUNT(*) AS n FROM {table} WHERE {condition}", params)
    order = pinot.rows(
        f"SELECT session_id, {identifier(sort)} FROM {table} WHERE {condition}"
        f" ORDER BY {identifier(sort)} DESC, session_id LIMIT :n",
        {**params, "n": offset + limit},
    )
    ids = [str(r["session_id"]) for r in page(order, offset, limit)]
    read = (t.session_metrics,)
    if not ids:
        return Answer((int(total[0]["n"]), []), read)
    names = {f"s{i}": sid for i, sid in enumerate(ids)}
    rows = pinot.rows(
        f"SELECT * FROM {table} WHERE session_id IN ({', '.join(f':{n}' for n in names)}) LIMIT :n",
        {**names, "n": len(ids)},
    )
    by_id = {str(r["session_id"]): r for r in rows}
    return Answer((int(total[0]["n"]), [by_id[sid] for sid in ids if sid in by_id]), read)


def newest_event_time(pinot: Queryable, t: Tables) -> Answer[int | None]:
    """The newest event time queryable (epoch ms), or None when there are no events."""
    value = float(pinot.rows(f"SELECT MAX(event_timestamp) AS t FROM {identifier(t.events)}")[0]["t"])
    return Answer(int(value) if value > 0 and value != float("inf") else None, (t.events,))


def _count_if(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "purchase")


def event_types(
    pinot: Queryable, t: Tables, edges: Sequence[int], filters: Filters
) -> Answer[dict[int, dict[str, int]]]:
    """bucket start -> events of each type and in all."""
    if _empty(edges):
        return Answer({}, (t.events,))
    params = _span(edges)
    where = _where(filters, params, events=True)
    counts = ", ".join(f"{_count_if(f'event_type = {literal(e)}')} AS {e}" for e in EVENT_TYPES)
    rows = pinot.rows(
        f"SELECT {bucket_sql('event_timestamp', edges)} AS bucket, {counts}, COUNT(*) AS events"
        f" FROM {identifier(t.events)} WHERE event_timestamp >= :start AND event_timestamp < :end{where}"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    return Answer({int(r.pop("bucket")): {k: int(v) for k, v in r.items()} for r in rows}, (t.events,))


def totals(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, filters: Filters
) -> Answer[dict[str, Any]]:
    """Counts, distinct counts and sums over [start, end) (see api.schemas.Totals)."""
    params: dict[str, Value] = {"start": start, "end": end}
    where = _where(filters, params, events=True)
    span = f"event_timestamp >= :start AND event_timestamp < :end{where}"
    table = identifier(t.events)
    counts = ", ".join(f"{_count_if(f'event_type = {literal(e)}')} AS {e}" for e in EVENT_TYPES)
    # Pinot 0.11 has no FILTER clause: one query per distinct count that needs its own condition.
    everything = pinot.rows(
        f"SELECT COUNT(*) AS events, {counts}, DISTINCTCOUNT(user_id) AS active_users,"
        f" DISTINCTCOUNT(session_id) AS sessions FROM {table} WHERE {span}",
        params,
    )
    bought = pinot.rows(
        "SELECT DISTINCTCOUNT(order_id) AS orders, DISTINCTCOUNT(user_id) AS customers,"
        " DISTINCTCOUNT(session_id) AS sessions, SUM(quantity) AS units, SUM(total_amount) AS revenue"
        f" FROM {table} WHERE event_type = 'purchase' AND {span}",
        params,
    )
    viewed = pinot.rows(
        "SELECT DISTINCTCOUNT(product_id) AS products, DISTINCTCOUNT(session_id) AS sessions"
        f" FROM {table} WHERE event_type = 'product_view' AND {span}",
        params,
    )
    a, b, v = (rows[0] if rows else {} for rows in (everything, bought, viewed))
    n = {k: int(a.get(k) or 0) for k in ("events", *EVENT_TYPES, "active_users", "sessions")}
    # An aggregate over no rows: Pinot 0.11 answers SUM with -Infinity/0 and DISTINCTCOUNT with 0.
    purchases = n["purchase"]
    orders = int(b.get("orders") or 0) if purchases else 0
    units = int(b.get("units") or 0) if purchases else 0
    revenue = float(b.get("revenue") or 0.0) if purchases else 0.0
    viewing_sessions = int(v.get("sessions") or 0) if n["product_view"] else 0
    out = {
        "events": n["events"],
        "page_views": n["page_view"],
        "product_views": n["product_view"],
        "add_to_carts": n["add_to_cart"],
        "purchases": purchases,
        "orders": orders,
        "units": units,
        "revenue": revenue,
        "active_users": n["active_users"] if n["events"] else 0,
        "sessions": n["sessions"] if n["events"] else 0,
        "customers": int(b.get("customers") or 0) if purchases else 0,
        "unique_products_viewed": int(v.get("products") or 0) if n["product_view"] else 0,
        "average_sale_price": revenue / units if units else None,
        "average_order_value": revenue / orders if orders else None,
        "conversion": (int(b.get("sessions") or 0) if purchases else 0) / viewing_sessions
        if viewing_sessions
        else None,
    }
    return Answer(out, (t.events,))


CATEGORY_SORTS = choices(CategorySort)


def top_categories(
    pinot: Queryable,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    sort: str,
    limit: int,
    offset: int,
) -> Answer[list[dict[str, Any]]]:
    """Categories offset + 1 .. offset + limit ranked by `sort` over [start, end), ties by name."""
    if sort not in CATEGORY_SORTS:
        raise ValueError(f"unknown sort {sort}")
    source = _product_source(t, filters)
    params: dict[str, Value] = {"start": start, "end": end, "n": offset + limit}
    where = source.where(filters, params)
    sums = {k: v for k, v in source.sums.items() if k in CATEGORY_SORTS}
    aggregates = ", ".join(f"{expr} AS {name}" for name, expr in sums.items())
    col = source.time_column
    rows = pinot.rows(
        f"SELECT product_category, DISTINCTCOUNT(product_id) AS products, {aggregates}"
        f" FROM {identifier(source.table)} WHERE {col} >= :start AND {col} < :end{where}"
        f" GROUP BY product_category ORDER BY {identifier(sort)} DESC, product_category LIMIT :n",
        params,
    )
    out = [
        {k: float(v) if k == "revenue" else v if k == "product_category" else int(v) for k, v in r.items()}
        for r in page(rows, offset, limit)
    ]
    return Answer(out, (source.table,))


def dead_letters(
    pinot: Queryable,
    t: Tables,
    start: datetime,
    end: datetime,
    reason_code: str | None,
    limit: int,
    offset: int,
) -> Answer[tuple[int, list[dict[str, Any]]]]:
    """Dead letters that arrived in [start, end), newest first (then partition, offset descending); and
    how many in all."""
    params: dict[str, Value] = {"start": start, "end": end}
    where = "source_timestamp >= :start AND source_timestamp < :end"
    if reason_code is not None:
        where += " AND reason_code = :code"
        params["code"] = reason_code
    table = identifier(t.dead_letters)
    total = pinot.rows(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", params)
    count = int(total[0]["n"]) if total else 0
    # The order as keys first (offset + limit small rows), then the page's rows with their payloads.
    order = pinot.rows(
        f"SELECT source_partition, source_offset, source_timestamp FROM {table} WHERE {where}"
        " ORDER BY source_timestamp DESC, source_partition DESC, source_offset DESC LIMIT :n",
        {**params, "n": offset + limit},
    )
    keys = [(int(r["source_partition"]), int(r["source_offset"])) for r in page(order, offset, limit)]
    read = (t.dead_letters,)
    if not keys:
        return Answer((count, []), read)
    names: dict[str, Value] = {}
    for i, (partition, source_offset) in enumerate(keys):
        names[f"p{i}"], names[f"o{i}"] = partition, source_offset
    match = " OR ".join(f"(source_partition = :p{i} AND source_offset = :o{i})" for i in range(len(keys)))
    rows = pinot.rows(
        "SELECT source_partition, source_offset, source_timestamp, reason, reason_code, reason_field,"
        f" payload, payload_encoding, payload_bytes FROM {table} WHERE {match} LIMIT :n",
        {**names, "n": len(keys)},
    )
    by_key = {(int(r["source_partition"]), int(r["source_offset"])): r for r in rows}
    return Answer((count, [by_key[k] for k in keys if k in by_key]), read)


def page_views_by_hour(
    pinot: Queryable, t: Tables, edges: Sequence[int], filters: Filters
) -> Answer[dict[int, int]]:
    """Hourly bucket start -> page views (the caller folds buckets into local hours of the day)."""
    if _empty(edges):
        return Answer({}, (t.events,))
    params = _span(edges)
    where = _where(filters, params, events=True)
    rows = pinot.rows(
        f"SELECT {bucket_sql('event_timestamp', edges)} AS bucket, COUNT(*) AS n FROM {identifier(t.events)}"
        f" WHERE event_type = 'page_view' AND event_timestamp >= :start AND event_timestamp < :end{where}"
        " GROUP BY bucket LIMIT 100000",
        params,
    )
    return Answer({int(r["bucket"]): int(r["n"]) for r in rows}, (t.events,))


REFERRER_SORTS = choices(ReferrerSort)


def top_referrers(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, sort: str, limit: int, offset: int
) -> Answer[list[dict[str, Any]]]:
    """Referrer hosts offset + 1 .. offset + limit ranked by `sort` over the 5-minute windows starting in
    [start, end), descending, ties by host: page views, and sessions summed over the windows."""
    if sort not in REFERRER_SORTS:
        raise ValueError(f"unknown sort {sort}")
    rows = pinot.rows(
        "SELECT referrer_host, SUM(page_views) AS page_views, SUM(sessions) AS sessions"
        f" FROM {identifier(t.referrer_traffic)} WHERE window_start >= :start AND window_start < :end"
        f" GROUP BY referrer_host ORDER BY {identifier(sort)} DESC, referrer_host LIMIT :n",
        {"start": start, "end": end, "n": offset + limit},
    )
    out = [
        {
            "referrer_host": r["referrer_host"],
            "page_views": int(r["page_views"]),
            "sessions": int(r["sessions"]),
        }
        for r in page(rows, offset, limit)
    ]
    return Answer(out, (t.referrer_traffic,))


LANDING_PAGE_ORDER: dict[LandingPageSort, str] = {
    "sessions": "COUNT(*)",
    "bounces": _count_if("page_views = 1"),
}
"""Each landing-page sort key's aggregate (tests/unit/core/test_choices.py: one per key)."""


def landing_pages(
    pinot: Queryable,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    sort: str,
    limit: int,
    offset: int,
) -> Answer[list[dict[str, Any]]]:
    """Landing pages offset + 1 .. offset + limit of the sessions that began in [start, end) and viewed a
    page, ranked by `sort` descending, ties by landing_page (Pinot's order: UTF-16 code units): how many
    sessions landed there and how many of them bounced (viewed that one page only)."""
    if sort not in LANDING_PAGE_ORDER:
        raise ValueError(f"unknown sort {sort}")
    params: dict[str, Value] = {"start": start, "end": end, "n": offset + limit}
    where = _where(filters, params, events=False, allowed={"device_type", "os", "browser", "location"})
    rows = pinot.rows(
        f"SELECT landing_page, COUNT(*) AS sessions, {LANDING_PAGE_ORDER['bounces']} AS bounces"
        f" FROM {identifier(t.session_metrics)}"
        # page_views > 0 is exactly "has a landing page", and needs no null vector
        f" WHERE first_event_time >= :start AND first_event_time < :end AND page_views > 0{where}"
        f" GROUP BY landing_page ORDER BY {LANDING_PAGE_ORDER[sort]} DESC, landing_page LIMIT :n",
        params,
    )
    out = [
        {"landing_page": str(r["landing_page"]), "sessions": int(r["sessions"]), "bounces": int(r["bounces"])}
        for r in page(rows, offset, limit)
    ]
    return Answer(out, (t.session_metrics,))


BRAND_SORTS = choices(BrandSort)


def brands(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, sort: str, limit: int, offset: int
) -> Answer[list[dict[str, Any]]]:
    """Brands offset + 1 .. offset + limit ranked by `sort` descending (ties by brand) over the product
    events in [start, end): views, add-to-carts, purchases, units, revenue, the sessions that viewed and
    that bought the brand, and conversion = buying / viewing sessions (None without a viewing session).
    Brands are few: every brand is read and ranked here."""
    if sort not in BRAND_SORTS:
        raise ValueError(f"unknown sort {sort}")
    params: dict[str, Value] = {"start": start, "end": end}
    table = identifier(t.enriched_product_events)
    span = "event_timestamp >= :start AND event_timestamp < :end"
    counts = ", ".join(
        f"{_count_if(f'event_type = {literal(kind)}')} AS {name}"
        for kind, name in (
            ("product_view", "views"),
            ("add_to_cart", "add_to_carts"),
            ("purchase", "purchases"),
        )
    )
    totals = pinot.rows(
        f"SELECT brand, {counts},"
        " SUM(CASE WHEN event_type = 'purchase' THEN quantity ELSE 0 END) AS units,"
        " SUM(CASE WHEN event_type = 'purchase' THEN total_amount ELSE 0 END) AS revenue"
        f" FROM {table} WHERE {span} GROUP BY brand LIMIT {MAX_GROUPS}",
        params,
    )
    sessions: dict[str, dict[str, int]] = {}
    for kind, name in (("product_view", "viewing_sessions"), ("purchase", "buying_sessions")):
        for r in pinot.rows(
            f"SELECT brand, DISTINCTCOUNT(session_id) AS n FROM {table}"
            f" WHERE event_type = {literal(kind)} AND {span} GROUP BY brand LIMIT {MAX_GROUPS}",
            params,
        ):
            sessions.setdefault(str(r["brand"]), {})[name] = int(r["n"])
    out: list[dict[str, Any]] = []
    for r in totals:
        brand = str(r["brand"])
        seen = sessions.get(brand, {})
        viewing, buying = seen.get("viewing_sessions", 0), seen.get("buying_sessions", 0)
        out.append(
            {
                "brand": brand,
                "views": int(r["views"]),
                "add_to_carts": int(r["add_to_carts"]),
                "purchases": int(r["purchases"]),
                "units": int(r["units"]),
                "revenue": float(r["revenue"]),
                "viewing_sessions": viewing,
                "buying_sessions": buying,
                "conversion": buying / viewing if viewing else None,
            }
        )
    # no conversion (no viewing session) ranks last
    ranked = sorted(out, key=lambda b: (b[sort] is None, -(b[sort] or 0), b["brand"]))
    return Answer(page(ranked, offset, limit), (t.enriched_product_events,))


REGION_SORTS = choices(RegionSort)


def regions(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, sort: str, limit: int, offset: int
) -> Answer[tuple[list[dict[str, Any]], bool]]:
    """(country, state) pairs offset + 1 .. offset + limit of the customers who bought in [start, end),
    ranked by `sort` descending (ties by country, state): customers, orders, revenue; and whether every
    pair was read (False beyond MAX_GROUPS)."""
    if sort not in REGION_SORTS:
        raise ValueError(f"unknown sort {sort}")
    rows = pinot.rows(
        "SELECT customer_country, customer_state, DISTINCTCOUNT(user_id) AS customers,"
        " DISTINCTCOUNT(order_id) AS orders, SUM(total_amount) AS revenue"
        f" FROM {identifier(t.enriched_product_events)} WHERE event_type = 'purchase'"
        " AND event_timestamp >= :start AND event_timestamp < :end"
        f" GROUP BY customer_country, customer_state LIMIT {MAX_GROUPS}",
        {"start": start, "end": end},
    )
    out: list[dict[str, Any]] = [
        {
            "country": str(r["customer_country"]),
            "state": str(r["customer_state"]),
            "customers": int(r["customers"]),
            "orders": int(r["orders"]),
            "revenue": float(r["revenue"]),
        }
        for r in rows
    ]
    ranked = sorted(out, key=lambda x: (-float(x[sort]), x["country"], x["state"]))
    return Answer((page(ranked, offset, limit), len(rows) < MAX_GROUPS), (t.enriched_product_events,))


LOCATION_SORTS = choices(LocationSort)


def locations(
    pinot: Queryable,
    t: Tables,
    start: datetime,
    end: datetime,
    filters: Filters,
    sort: str,
    limit: int,
    offset: int,
) -> Answer[list[dict[str, Any]]]:
    """Per location: distinct users, distinct customers, orders and revenue; ranked by `sort`, ties by
    location. Two GROUP BYs (all events, purchases) merged here: locations are few."""
    if sort not in LOCATION_SORTS:
        raise ValueError(f"unknown sort {sort}")
    params: dict[str, Value] = {"start": start, "end": end}
    where = _where(filters, params, events=True)
    span = f"event_timestamp >= :start AND event_timestamp < :end{where}"
    table = identifier(t.events)
    users = pinot.rows(
        f"SELECT location, DISTINCTCOUNT(user_id) AS users FROM {table} WHERE {span}"
        f" GROUP BY location LIMIT {MAX_GROUPS}",
        params,
    )
    bought = pinot.rows(
        "SELECT location, DISTINCTCOUNT(user_id) AS customers, DISTINCTCOUNT(order_id) AS orders,"
        f" SUM(total_amount) AS revenue FROM {table} WHERE event_type = 'purchase' AND {span}"
        f" GROUP BY location LIMIT {MAX_GROUPS}",
        params,
    )
    out: dict[str, dict[str, Any]] = {}
    for r in users:
        out[str(r["location"])] = {"location": str(r["location"]), "users": int(r["users"])}
    for r in bought:
        row = out.setdefault(str(r["location"]), {"location": str(r["location"]), "users": 0})
        row.update(customers=int(r["customers"]), orders=int(r["orders"]), revenue=float(r["revenue"]))
    for row in out.values():
        for name, zero in (("customers", 0), ("orders", 0), ("revenue", 0.0)):
            row.setdefault(name, zero)  # a location where nobody bought
    ranked = sorted(out.values(), key=lambda r: (-r[sort], r["location"]))
    return Answer(page(ranked, offset, limit), (t.events,))


def orders_per_customer(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, filters: Filters
) -> Answer[tuple[dict[int, int], bool]]:
    """orders placed -> customers who placed that many in [start, end); and whether every customer was
    counted (False when more than MAX_GROUPS customers bought: Pinot keeps that many groups)."""
    params: dict[str, Value] = {"start": start, "end": end}
    where = _where(filters, params, events=True)
    rows = pinot.rows(
        f"SELECT user_id, DISTINCTCOUNT(order_id) AS orders FROM {identifier(t.events)}"
        f" WHERE event_type = 'purchase' AND event_timestamp >= :start AND event_timestamp < :end{where}"
        f" GROUP BY user_id LIMIT {MAX_GROUPS}",
        params,
    )
    histogram: dict[int, int] = {}
    for r in rows:
        n = int(r["orders"])
        histogram[n] = histogram.get(n, 0) + 1
    return Answer((histogram, len(rows) < MAX_GROUPS), (t.events,))


DIMENSIONS = ("device_type", "os", "browser", "location", "product_category")


def dimension_values(
    pinot: Queryable, t: Tables, start: datetime, end: datetime, limit: int
) -> Answer[dict[str, list[str]]]:
    """Each filter dimension's values seen in [start, end) (events that carry it), at most `limit`, sorted."""
    out: dict[str, list[str]] = {}
    for name in DIMENSIONS:
        guard = present(name)
        rows = pinot.rows(
            f"SELECT {identifier(name)} AS v, COUNT(*) AS n FROM {identifier(t.events)}"
            f" WHERE event_timestamp >= :start AND event_timestamp < :end{f' AND {guard}' if guard else ''}"
            f" GROUP BY {identifier(name)} ORDER BY {identifier(name)} LIMIT :n",
            {"start": start, "end": end, "n": limit},
        )
        out[name] = [str(r["v"]) for r in rows]
    return Answer(out, (t.events,))
