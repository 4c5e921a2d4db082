"""The API's answers over the e2e pipeline's tables, each compared with plain Python over the oracle's
accepted events (tests/support/oracle.py): the numbers must survive the trip through HTTP."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from prometheus_client.parser import text_string_to_metric_families

from api.deps import Context
from api.routers.live import snapshot
from core.business_day import business_day
from core.events import AddToCart, BaseEvent, PageView, ProductView, Purchase, to_epoch_millis
from query.analytics import Filters
from tests.support.oracle import Expected
from tests.support.polling import poll_until

HOUR, MINUTE = 3_600_000, 60_000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat().replace("+00:00", "Z")


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _by_bucket(
    events: Iterable[BaseEvent], size: int, key: Callable[[BaseEvent], int]
) -> dict[int, list[BaseEvent]]:
    out: dict[int, list[BaseEvent]] = defaultdict(list)
    for e in events:
        out[key(e) - key(e) % size].append(e)
    return out


def _time(e: BaseEvent) -> int:
    return to_epoch_millis(e.event_timestamp)


def _get(client: httpx.Client, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, params, r.text[:500])
    body: dict[str, Any] = r.json()
    return body


def whole_hours(want: Expected) -> dict[str, str]:
    """`from` / `to` of the whole UTC hours around every event time and arrival time."""
    times = [_time(e) for e in want.accepted] + [*want.arrival_ms.values(), *want.dead_letter_arrival_ms]
    lo, hi = min(times) - min(times) % HOUR, max(times) - max(times) % HOUR + HOUR
    return {"from": _iso(lo), "to": _iso(hi)}


def assert_api_serves(client: httpx.Client, want: Expected) -> None:
    span = whole_hours(want)
    _active_users(client, want, span)
    _active_users_sliding(client, want, span)
    _referrers(client, want, span)
    _landing_pages(client, want, span)
    _day_to_date(client, want, span)
    _visits(client, want, span)
    _retention(client, want, span)
    _brands(client, want, span)
    _regions(client, want, span)
    _revenue(client, want, span)
    _products(client, want, span)
    _funnel(client, want, span)
    _data_quality(client, want, span)
    _sessions(client, want, span)


def _active_users(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/active-users", **span, compare="previous_period")
    assert "active_users" in body["meta"]["source"]  # the pre-aggregated minutes
    got = {_ms(p["bucket"]): p for p in body["data"]}
    assert len(got) == len(body["data"]) == (_ms(span["to"]) - _ms(span["from"])) // MINUTE  # gap-filled
    rows = {to_epoch_millis(r.window_start): r for r in want.active_users}
    for bucket, point in got.items():
        row = rows.get(bucket)
        expected = (row.active_users, row.sessions, row.events) if row else (0, 0, 0)
        assert (point["active_users"], point["sessions"], point["events"]) == expected, (bucket, point)
    assert len(body["previous"]) == len(body["data"])

    # Hourly and filtered: exact distinct counts from the events table.
    mobile = [e for e in want.accepted if e.device_type == "mobile"]
    body = _get(client, "/metrics/active-users", **span, granularity="hour", device_type="mobile")
    hours = _by_bucket(mobile, HOUR, _time)
    for point in body["data"]:
        group = hours.get(_ms(point["bucket"]), [])
        assert point["active_users"] == len({e.user_id for e in group})
        assert point["sessions"] == len({e.session_id for e in group})
        assert point["events"] == len(group)


def _active_users_sliding(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/active-users/sliding", **span)
    assert "active_users_sliding" in body["meta"]["source"]
    got = {_ms(p["bucket"]): p for p in body["data"]}
    assert len(got) == len(body["data"]) == (_ms(span["to"]) - _ms(span["from"])) // MINUTE  # gap-filled
    rows = {to_epoch_millis(r.window_start): r for r in want.active_users_sliding}
    assert any(start in got for start in rows)
    for start, point in got.items():
        row = rows.get(start)
        expected = (row.active_users, row.sessions, row.events) if row else (0, 0, 0)
        assert (point["active_users"], point["sessions"], point["events"]) == expected, (start, point)
        assert _ms(point["window_end"]) == start + 5 * MINUTE
    # The traffic has users active in several minutes of one window, so a sum of the per-minute counts
    # would fail the comparison above: a window counts each user once.
    assert any(
        r.active_users
        < sum(m.active_users for m in want.active_users if r.window_start <= m.window_start < r.window_end)
        for r in want.active_users_sliding
    )


def _referrers(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"page_views": 0, "sessions": 0})
    for row in want.referrer_traffic:
        totals[row.referrer_host]["page_views"] += row.page_views
        totals[row.referrer_host]["sessions"] += row.sessions
    assert {"direct", "internal", "www.google.com"} <= set(totals)
    for sort in ("page_views", "sessions"):
        ranked = sorted(totals, key=lambda host: (-totals[host][sort], host))
        body = _get(client, "/metrics/referrers", **span, sort=sort, limit=1000)
        assert "referrer_traffic" in body["meta"]["source"]
        assert [(p["rank"], p["referrer_host"]) for p in body["data"]] == list(enumerate(ranked, start=1))
        for point in body["data"]:
            assert {k: point[k] for k in ("page_views", "sessions")} == totals[point["referrer_host"]]
        second = _get(client, "/metrics/referrers", **span, sort=sort, limit=2, offset=2)
        assert [p["referrer_host"] for p in second["data"]] == ranked[2:4]


def _landing_pages(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    by_id = {s.session_id: s for s in want.sessions}
    tie, late = (s for s in by_id if s.endswith("-tie")), (s for s in by_id if s.endswith("-late"))
    # the crafted sessions (tests/support/e2e.py): code point order, and a late first page view
    assert [by_id[s].landing_page for s in tie] == ["/\uff5e"]
    assert [by_id[s].landing_page for s in late] == ["/b"]
    start, end = _ms(span["from"]), _ms(span["to"])
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"sessions": 0, "bounces": 0})
    for s in want.sessions:
        if s.landing_page is not None and start <= to_epoch_millis(s.first_event_time) < end:
            totals[s.landing_page]["sessions"] += 1
            totals[s.landing_page]["bounces"] += s.page_views == 1
    assert any(t["bounces"] for t in totals.values())
    assert any(t["bounces"] < t["sessions"] for t in totals.values())
    for sort in ("sessions", "bounces"):
        # ties by landing page in Pinot's order, UTF-16 code units (the tie session's emoji sorts first)
        ranked = sorted(totals, key=lambda page: (-totals[page][sort], page.encode("utf-16-be")))
        body = _get(client, "/metrics/landing-pages", **span, sort=sort, limit=1000)
        assert "session_metrics" in body["meta"]["source"]
        assert [(p["rank"], p["landing_page"]) for p in body["data"]] == list(enumerate(ranked, start=1))
        for point in body["data"]:
            t = totals[point["landing_page"]]
            assert (point["sessions"], point["bounces"]) == (t["sessions"], t["bounces"])
            assert _close(point["bounce_rate"], t["bounces"] / t["sessions"])
        second = _get(client, "/metrics/landing-pages", **span, sort=sort, limit=2, offset=2)
        assert [p["landing_page"] for p in second["data"]] == ranked[2:4]


def _visits(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    for granularity, size in (("minute", MINUTE), ("hour", HOUR)):
        body = _get(client, "/metrics/visits", **span, granularity=granularity)
        assert "visits" in body["meta"]["source"]
        assert len(body["data"]) == (_ms(span["to"]) - _ms(span["from"])) // size  # gap-filled
        buckets: dict[int, list[Any]] = defaultdict(list)
        for v in want.visits:
            start = to_epoch_millis(v.visit_start)
            buckets[start - start % size].append(v)
        for point in body["data"]:
            group = buckets.get(_ms(point["bucket"]), [])
            assert point["visits"] == len(group), point
            assert point["bounces"] == sum(v.page_views == 1 for v in group), point
            if not group:
                assert point["bounce_rate"] is point["avg_duration_s"] is point["pages_per_visit"] is None
                continue
            duration = sum((v.visit_end - v.visit_start).total_seconds() for v in group)
            assert _close(point["avg_duration_s"], duration / len(group)), point
            assert _close(point["pages_per_visit"], sum(v.page_views for v in group) / len(group)), point
            assert _close(point["bounce_rate"], point["bounces"] / len(group)), point
    assert any(v.events > 1 for v in want.visits)
    assert any(v.page_views == 1 for v in want.visits)


def _brands(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    rows = want.enriched_product_events
    start, end = _ms(span["from"]), _ms(span["to"])
    rows = [r for r in rows if start <= to_epoch_millis(r.event_timestamp) < end]
    brands: dict[str, dict[str, Any]] = {}
    for brand in {r.brand for r in rows}:
        mine = [r for r in rows if r.brand == brand]
        bought = [r for r in mine if r.event_type == "purchase"]
        viewing = len({r.session_id for r in mine if r.event_type == "product_view"})
        buying = len({r.session_id for r in bought})
        brands[brand] = {
            "views": sum(r.event_type == "product_view" for r in mine),
            "add_to_carts": sum(r.event_type == "add_to_cart" for r in mine),
            "purchases": len(bought),
            "units": sum(r.quantity or 0 for r in bought),
            "revenue": sum(r.total_amount or 0.0 for r in bought),
            "viewing_sessions": viewing,
            "buying_sessions": buying,
            "conversion": buying / viewing if viewing else None,
        }
    body = _get(client, "/metrics/brands", **span, sort="views", limit=1000)
    assert "enriched_product_events" in body["meta"]["source"]
    ranked = sorted(brands, key=lambda b: (-brands[b]["views"], b))
    assert [p["brand"] for p in body["data"]] == ranked
    for point in body["data"]:
        want_row = brands[point["brand"]]
        for name, value in want_row.items():
            assert _close(point[name], value), (point, name, value)


def _regions(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    start, end = _ms(span["from"]), _ms(span["to"])
    bought = [
        r
        for r in want.enriched_product_events
        if r.event_type == "purchase" and start <= to_epoch_millis(r.event_timestamp) < end
    ]
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in bought:
        groups[(r.customer_country, r.customer_state)].append(r)
    body = _get(client, "/metrics/customers/regions", **span, sort="customers", limit=1000)
    assert body["complete"] is True
    got = {(p["country"], p["state"]): p for p in body["data"]}
    assert got.keys() == groups.keys()
    if any(r.user_id.startswith("u-mover-") for r in bought):  # traffic_dimensions() was sent
        assert {("ZZ", "ZZ-AN"), ("ZZ", "ZZ-BE")} <= got.keys()  # the customer who moved, in both
    for key, group in groups.items():
        assert got[key]["customers"] == len({r.user_id for r in group}), key
        assert got[key]["orders"] == len({r.order_id for r in group}), key
        assert _close(got[key]["revenue"], sum(r.total_amount or 0.0 for r in group)), key
    customers = [p["customers"] for p in body["data"]]
    assert customers == sorted(customers, reverse=True)


def _retention(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/retention", **span, period="day")
    zone = body["business_time_zone"]
    assert body["complete"] is True
    days: dict[str, set[str]] = defaultdict(set)  # user -> business days with an event
    for e in want.accepted:
        days[e.user_id].add(business_day(_time(e), zone))
    periods = sorted({d for user_days in days.values() for d in user_days})
    cohorts: dict[str, list[str]] = defaultdict(list)
    for user, active in days.items():
        cohorts[min(active)].append(user)
    expected = [
        {
            "cohort": cohort,
            "users": len(users),
            "retention": [
                {"period": k, "active": n, "share": n / len(users)}
                for k, later in enumerate(periods[periods.index(cohort) :])
                for n in [sum(later in days[u] for u in users)]
            ],
        }
        for cohort, users in sorted(cohorts.items())
    ]
    assert body["cohorts"] == expected


def _day_to_date(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/day-to-date", **span)
    zone = body["business_time_zone"]  # test_pipeline.py chose it; the days are checked with it below
    assert "user_days" in body["meta"]["source"]
    assert "product_metrics" in body["meta"]["source"]
    points = body["data"]
    assert len(points) == (_ms(span["to"]) - _ms(span["from"])) // MINUTE  # gap-filled
    events = [(_time(e), business_day(_time(e), zone), e) for e in want.accepted]
    first: dict[tuple[str, str], int] = {}
    for t, day, e in events:
        first[(day, e.user_id)] = min(t, first.get((day, e.user_id), t))
    for point in points:
        start = _ms(point["bucket"])
        day = business_day(start, zone)
        assert point["business_day"] == day
        so_far = [e for t, d, e in events if d == day and t < start + MINUTE]
        assert point["users"] == len({e.user_id for e in so_far}), point
        assert point["new_users"] == sum(
            start <= t < start + MINUTE for (d, _), t in first.items() if d == day
        ), point
        revenue = sum(e.total_amount for e in so_far if isinstance(e, Purchase))
        assert _close(point["revenue"], revenue), (point, revenue)
    # each point is recomputed from its own business day's events: where the range holds a business
    # midnight (test_pipeline.py picks the zone so that it does), the totals must restart there


def _revenue(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/revenue", **span)
    minutes = _by_bucket((e for e in want.accepted if isinstance(e, Purchase)), MINUTE, _time)
    for point in body["data"]:
        group = [e for e in minutes.get(_ms(point["bucket"]), []) if isinstance(e, Purchase)]
        revenue = sum(e.total_amount for e in group)
        orders = len({e.order_id for e in group})
        assert _close(point["revenue"], revenue)
        assert point["orders"] == orders
        assert point["units"] == sum(e.quantity for e in group)
        assert _close(point["average_order_value"], revenue / orders if orders else None)


def product_totals(events: Iterable[BaseEvent]) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for e in events:
        if not isinstance(e, ProductView | AddToCart | Purchase):
            continue
        t = totals.setdefault(
            e.product_id,
            {"views": 0, "add_to_carts": 0, "purchases": 0, "units": 0, "revenue": 0.0, "n": 0, "price": 0.0},
        )
        t["n"] += 1
        t["price"] += e.price
        t["views"] += isinstance(e, ProductView)
        t["add_to_carts"] += isinstance(e, AddToCart)
        if isinstance(e, Purchase):
            t["purchases"] += 1
            t["units"] += e.quantity
            t["revenue"] += e.total_amount
    return totals


def _assert_ranking(body: dict[str, Any], totals: dict[str, dict[str, Any]], sort: str, limit: int) -> None:
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1][sort], kv[0]))[:limit]
    assert [p["product_id"] for p in body["data"]] == [pid for pid, _ in ranked]
    for p, (_, t) in zip(body["data"], ranked, strict=True):
        for name in ("views", "add_to_carts", "purchases", "units"):
            assert p[name] == t[name], (p["product_id"], name)
        assert _close(p["revenue"], t["revenue"])
        assert _close(p["avg_price"], t["price"] / t["n"])


def _products(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/products", **span, sort="revenue", limit=5)
    _assert_ranking(body, product_totals(want.accepted), "revenue", 5)
    desktop = [e for e in want.accepted if e.device_type == "desktop"]
    body = _get(client, "/metrics/products", **span, sort="views", limit=3, offset=0, device_type="desktop")
    assert "events" in body["meta"]["source"]  # a session dimension: the events table
    _assert_ranking(body, product_totals(desktop), "views", 3)

    top = body["data"][0]["product_id"]
    series = _get(client, f"/metrics/products/{top}", **span)
    minutes = _by_bucket((e for e in want.accepted if getattr(e, "product_id", None) == top), MINUTE, _time)
    for point in series["data"]:
        t = product_totals(minutes.get(_ms(point["bucket"]), [])).get(top)
        assert point["views"] == (t["views"] if t else 0)
        assert _close(point["revenue"], t["revenue"] if t else 0.0)


def _funnel(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/funnel", **span, breakdown="device_type")
    for segment in body["data"]:
        events = [e for e in want.accepted if e.device_type == segment["segment"]]
        for step in segment["steps"]:
            matching = [e for e in events if e.event_type == step["step"]]
            assert step["events"] == len(matching)
            assert step["sessions"] == len({e.session_id for e in matching})
    assert {s["segment"] for s in body["data"]} == {e.device_type for e in want.accepted}


def _data_quality(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/data-quality", **span)
    accepted: dict[int, int] = defaultdict(int)
    late: dict[int, int] = defaultdict(int)
    dead: dict[int, int] = defaultdict(int)
    for event_id, ms in want.arrival_ms.items():
        accepted[ms - ms % MINUTE] += 1
        late[ms - ms % MINUTE] += event_id in want.late
    for ms in want.dead_letter_arrival_ms:
        dead[ms - ms % MINUTE] += 1
    for point in body["data"]:
        b = _ms(point["bucket"])
        assert (point["accepted"], point["late"], point["dead_lettered"]) == (accepted[b], late[b], dead[b])
    assert sum(p["accepted"] for p in body["data"]) == len(want.accepted)


def _sessions(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    for expected in want.sessions[:3]:
        got = _get(client, f"/metrics/sessions/{expected.session_id}")
        assert got == expected.model_dump(mode="json") | {"revenue": got["revenue"]}
        assert _close(got["revenue"], expected.revenue)
    per_user: dict[str, int] = defaultdict(int)
    for s in want.sessions:
        per_user[s.user_id] += 1
    user = max(per_user, key=lambda u: (per_user[u], u))
    body = _get(client, "/metrics/sessions", **span, user_id=user, limit=1, sort="events")
    assert body["total"] == per_user[user]
    assert len(body["data"]) == 1
    assert client.get("/metrics/sessions/no-such-session").status_code == 404


# The dashboard's routes -----------------------------------------------------------------------------


def oracle_totals(events: list[BaseEvent]) -> dict[str, Any]:
    """api.schemas.Totals over `events`, in plain Python."""
    purchases = [e for e in events if isinstance(e, Purchase)]
    views = [e for e in events if isinstance(e, ProductView)]
    revenue = sum(e.total_amount for e in purchases)
    units = sum(e.quantity for e in purchases)
    orders = len({e.order_id for e in purchases})
    viewing = len({e.session_id for e in views})
    return {
        "events": len(events),
        "page_views": sum(isinstance(e, PageView) for e in events),
        "product_views": len(views),
        "add_to_carts": sum(isinstance(e, AddToCart) for e in events),
        "purchases": len(purchases),
        "orders": orders,
        "units": units,
        "revenue": revenue,
        "active_users": len({e.user_id for e in events}),
        "sessions": len({e.session_id for e in events}),
        "customers": len({e.user_id for e in purchases}),
        "unique_products_viewed": len({e.product_id for e in views}),
        "average_sale_price": revenue / units if units else None,
        "average_order_value": revenue / orders if orders else None,
        "conversion": len({e.session_id for e in purchases}) / viewing if viewing else None,
    }


def assert_totals(got: dict[str, Any], want: dict[str, Any]) -> None:
    for name, value in want.items():
        if isinstance(value, float) or value is None:
            assert _close(got[name], value), (name, got[name], value)
        else:
            assert got[name] == value, (name, got[name], value)


def assert_dashboard_routes_serve(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    """Every route the dashboard's panels read, against the oracle."""
    _summary(client, want, span)
    _event_types(client, want, span)
    _categories(client, want, span)
    _dead_letters(client, want, span)
    _hour_of_day(client, want, span)
    _locations(client, want, span)
    _order_frequency(client, want, span)
    _dimensions(client, want, span)
    _pages(client, want, span)
    _previous_period(client, want)
    _live_snapshot(client, want)


def _summary(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/summary", **span, compare="previous_period")
    assert_totals(body["data"], oracle_totals(want.accepted))
    assert_totals(body["previous"], oracle_totals([]))  # nothing before the test's traffic
    mobile = [e for e in want.accepted if e.device_type == "mobile"]
    assert_totals(
        _get(client, "/metrics/summary", **span, device_type="mobile")["data"], oracle_totals(mobile)
    )


def _event_types(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/events", **span)
    minutes = _by_bucket(want.accepted, MINUTE, _time)
    assert len(body["data"]) == (_ms(span["to"]) - _ms(span["from"])) // MINUTE
    for point in body["data"]:
        group = minutes.get(_ms(point["bucket"]), [])
        assert point["events"] == len(group)
        for etype in ("page_view", "product_view", "add_to_cart", "purchase"):
            assert point[etype] == sum(e.event_type == etype for e in group), (point["bucket"], etype)
    assert sum(p["events"] for p in body["data"]) == len(want.accepted)


def _categories(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    totals: dict[str, dict[str, Any]] = {}
    for e in want.accepted:
        if not isinstance(e, ProductView | AddToCart | Purchase):
            continue
        t = totals.setdefault(
            e.product_category, {"products": set(), "views": 0, "purchases": 0, "revenue": 0.0}
        )
        t["products"].add(e.product_id)
        t["views"] += isinstance(e, ProductView)
        if isinstance(e, Purchase):
            t["purchases"] += 1
            t["revenue"] += e.total_amount
    body = _get(client, "/metrics/categories", **span, sort="revenue", limit=1000)
    ranked = sorted(totals, key=lambda c: (-totals[c]["revenue"], c))
    assert [c["product_category"] for c in body["data"]] == ranked
    for c in body["data"]:
        t = totals[c["product_category"]]
        assert (c["products"], c["views"], c["purchases"]) == (len(t["products"]), t["views"], t["purchases"])
        assert _close(c["revenue"], t["revenue"])
    assert [c["rank"] for c in body["data"]] == list(range(1, len(ranked) + 1))


def _dead_letters(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/dead-letters", **span, limit=1000, payload_chars=40)
    assert body["total"] == len(want.dead_letters)
    got = {(d["source_partition"], d["source_offset"]): d for d in body["data"]}
    assert set(got) == want.dead_letters
    for key, (code, field) in want.dead_letter_reasons.items():
        assert (got[key]["reason_code"], got[key]["reason_field"]) == (code, field), key
    times = [(d["source_timestamp"], d["source_partition"], d["source_offset"]) for d in body["data"]]
    assert times == sorted(times, reverse=True)  # newest first
    assert all(d["payload"] is None or len(d["payload"]) <= 40 for d in body["data"])
    assert any(d["payload_truncated"] for d in body["data"])
    code, _ = next(iter(want.dead_letter_reasons.values()))
    some = _get(client, "/metrics/dead-letters", **span, reason_code=code, limit=2)
    assert some["total"] == sum(c == code for c, _ in want.dead_letter_reasons.values())
    assert len(some["data"]) == min(2, some["total"])


def _hour_of_day(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    for zone in ("UTC", "Asia/Kathmandu"):  # +05:45: a local hour is not a UTC hour
        body = _get(client, "/metrics/page-views/hour-of-day", **span, tz=zone)
        counts = [0] * 24
        for e in want.accepted:
            if isinstance(e, PageView):
                counts[datetime.fromtimestamp(_time(e) / 1000, tz=ZoneInfo(zone)).hour] += 1
        assert [h["hour"] for h in body["data"]] == list(range(24))
        assert [h["page_views"] for h in body["data"]] == counts, zone


def _locations(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    rows: dict[str, dict[str, Any]] = {}
    for e in want.accepted:
        r = rows.setdefault(e.location, {"users": set(), "customers": set(), "orders": set(), "revenue": 0.0})
        r["users"].add(e.user_id)
        if isinstance(e, Purchase):
            r["customers"].add(e.user_id)
            r["orders"].add(e.order_id)
            r["revenue"] += e.total_amount
    body = _get(client, "/metrics/customers/locations", **span, sort="customers", limit=1000)
    ranked = sorted(rows, key=lambda loc: (-len(rows[loc]["customers"]), loc))
    assert [r["location"] for r in body["data"]] == ranked
    for r in body["data"]:
        w = rows[r["location"]]
        assert (r["users"], r["customers"], r["orders"]) == (
            len(w["users"]),
            len(w["customers"]),
            len(w["orders"]),
        )
        assert _close(r["revenue"], w["revenue"])


def _order_frequency(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    orders: dict[str, set[str]] = defaultdict(set)
    for e in want.accepted:
        if isinstance(e, Purchase):
            orders[e.user_id].add(e.order_id)
    histogram = Counter(len(o) for o in orders.values())
    body = _get(client, "/metrics/customers/order-frequency", **span)
    assert body["complete"] is True
    assert body["customers"] == len(orders)
    assert [(b["orders"], b["customers"]) for b in body["data"]] == [
        (n, histogram.get(n, 0)) for n in range(1, max(histogram) + 1)
    ]


def _dimensions(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/dimensions", **span)
    for name in ("device_type", "os", "browser", "location"):
        assert body[name] == sorted({getattr(e, name) for e in want.accepted}), name
    categories = {
        e.product_category for e in want.accepted if isinstance(e, ProductView | AddToCart | Purchase)
    }
    assert body["product_category"] == sorted(categories)


def _same_rows(page: list[dict[str, Any]], rows: list[dict[str, Any]]) -> bool:
    """Equal rows, sums of doubles within rounding (Pinot adds segments in no fixed order)."""
    return len(page) == len(rows) and all(
        a.keys() == b.keys()
        and all(_close(a[k], b[k]) if isinstance(a[k], float) else a[k] == b[k] for k in a)
        for a, b in zip(page, rows, strict=True)
    )


def _pages(client: httpx.Client, want: Expected, span: dict[str, str]) -> None:
    """The second page of each ranking is the oracle's ranking from offset on, for every sort."""
    for sort in ("views", "add_to_carts", "purchases", "units", "revenue"):
        full = _get(client, "/metrics/categories", **span, sort=sort, limit=1000)["data"]
        second = _get(client, "/metrics/categories", **span, sort=sort, limit=2, offset=2)["data"]
        assert _same_rows(second, full[2:4]), (sort, second, full[2:4])
        values = [c[sort] for c in full]
        assert values == sorted(values, reverse=True), sort
        totals: dict[str, float] = defaultdict(float)
        for e in want.accepted:
            if isinstance(e, ProductView | AddToCart | Purchase):
                totals[e.product_category] += {
                    "views": isinstance(e, ProductView),
                    "add_to_carts": isinstance(e, AddToCart),
                    "purchases": isinstance(e, Purchase),
                    "units": e.quantity if isinstance(e, Purchase) else 0,
                    "revenue": e.total_amount if isinstance(e, Purchase) else 0.0,
                }[sort]
        for c in full:
            assert _close(c[sort], totals[c["product_category"]]), (sort, c)
    for sort in ("revenue", "users", "customers", "orders"):
        full = _get(client, "/metrics/customers/locations", **span, sort=sort, limit=1000)["data"]
        second = _get(client, "/metrics/customers/locations", **span, sort=sort, limit=3, offset=3)["data"]
        assert _same_rows(second, full[3:6]), (sort, second, full[3:6])
    everything = _get(client, "/metrics/dead-letters", **span, limit=1000, payload_chars=0)["data"]
    middle = _get(client, "/metrics/dead-letters", **span, limit=2, offset=3, payload_chars=0)["data"]
    assert middle == everything[3:5]


def _previous_period(client: httpx.Client, want: Expected) -> None:
    """A closed range whose previous period holds events too: both equal the oracle over their minutes."""
    last = max(_time(e) for e in want.accepted)
    end = last - last % MINUTE  # the minute before the newest event's: closed, and every event before it
    start = end - MINUTE
    body = _get(
        client, "/metrics/summary", **{"from": _iso(start), "to": _iso(end)}, compare="previous_period"
    )
    assert_totals(body["data"], oracle_totals([e for e in want.accepted if start <= _time(e) < end]))
    before = [e for e in want.accepted if start - MINUTE <= _time(e) < start]
    assert before  # the check means something
    assert_totals(body["previous"], oracle_totals(before))


def _live_snapshot(client: httpx.Client, want: Expected) -> None:
    """What /metrics/stream pushes (api.routers.live.snapshot), minute by minute, against the oracle."""
    state = client.app.state  # type: ignore[attr-defined]
    ctx = Context(state.pinot, state.tables.current(), state.settings)
    newest = max(_time(e) for e in want.accepted)
    snap = snapshot(ctx, Filters(), datetime.fromtimestamp(newest / 1000, tz=UTC))
    closed = newest - state.settings.watermark_delay_s * 1000
    closed -= closed % MINUTE
    assert snap.as_of is not None
    assert to_epoch_millis(snap.as_of) == closed
    by_minute = _by_bucket(want.accepted, MINUTE, _time)
    arrivals: dict[int, list[str]] = defaultdict(list)
    for event_id, ms in want.arrival_ms.items():
        arrivals[ms - ms % MINUTE].append(event_id)
    dead = Counter(ms - ms % MINUTE for ms in want.dead_letter_arrival_ms)
    assert len(snap.data) == state.settings.api_live_minutes
    for point in snap.data:
        b = to_epoch_millis(point.bucket)
        group = by_minute.get(b, [])
        purchases = [e for e in group if isinstance(e, Purchase)]
        assert point.final == (b + MINUTE <= closed)
        assert point.events == len(group)
        assert point.active_users == len({e.user_id for e in group})
        assert point.sessions == len({e.session_id for e in group})
        for etype in ("page_view", "product_view", "add_to_cart", "purchase"):
            assert getattr(point, etype) == sum(e.event_type == etype for e in group), (b, etype)
        assert _close(point.revenue, sum(e.total_amount for e in purchases))
        assert point.orders == len({e.order_id for e in purchases})
        assert point.accepted == len(arrivals[b])
        assert point.late == sum(i in want.late for i in arrivals[b])
        assert point.dead_lettered == dead[b]
    assert sum(p.events for p in snap.data) > 0


def scrape(client: httpx.Client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """/prometheus as metric name -> labels -> value."""
    r = client.get("/prometheus")
    assert r.status_code == 200, r.text[:300]
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[sample.name][tuple(sorted(sample.labels.items()))] = sample.value
    return out


def assert_prometheus_serves(
    client: httpx.Client, want: Expected, job: str, raw_topic: str, events_table: str
) -> None:
    """The pipeline's health as exported for Prometheus, against the oracle and the engines' state."""

    def lag_settled(got: dict[str, dict[tuple[tuple[str, str], ...], float]]) -> bool:
        lags = {
            dict(labels)["partition"]: v
            for labels, v in got["rta_kafka_consumer_lag"].items()
            if dict(labels)["topic"] == raw_topic and dict(labels)["group"] == job
        }
        return len(lags) == 3 and all(v == 0 for v in lags.values())

    # The source commits its offsets with each checkpoint: all read, the lag comes down to 0.
    got = poll_until(lambda: scrape(client), lag_settled, timeout_s=90, what="the job's lag at 0")
    assert {dict(k)["source"]: v for k, v in got["rta_exporter_up"].items()} == {
        "kafka": 1,
        "flink": 1,
        "pinot": 1,
    }
    fates = {dict(k)["fate"]: v for k, v in got["rta_events_total"].items()}
    assert fates == {
        "accepted": len(want.accepted),
        "late": len(want.late),
        "dead_lettered": len(want.dead_letters),
    }
    assert got["rta_flink_job_running"][(("job", job),)] == 1
    assert got["rta_flink_job_restarts_total"][(("job", job),)] == 0
    assert 0 <= got["rta_flink_checkpoint_age_seconds"][(("job", job),)] < 60
    assert got["rta_flink_checkpoint_duration_seconds"][(("job", job),)] >= 0
    assert got["rta_pinot_newest_row_age_seconds"][(("table", events_table),)] >= 0
    assert got["rta_freshness_seconds"][()] >= 0
    summary = (("method", "GET"), ("route", "/metrics/summary"), ("status", "200"))
    assert got["rta_api_requests_total"][summary] >= 1
    assert got["rta_pinot_queries_total"][(("outcome", "ok"),)] > 0
    assert got["rta_api_cache_lookups_total"][(("result", "miss"),)] > 0
