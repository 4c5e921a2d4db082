"""The API's answers over the e2e pipeline's tables, each compared with plain Python over the oracle's
accepted events (tests/support/oracle.py): the numbers must survive the trip through HTTP."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from core.events import AddToCart, BaseEvent, ProductView, Purchase, to_epoch_millis
from tests.support.oracle import Expected

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


def _get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, params, r.text[:500])
    body: dict[str, Any] = r.json()
    return body


def assert_api_serves(client: TestClient, want: Expected) -> None:
    times = [_time(e) for e in want.accepted] + list(want.arrival_ms.values())
    lo, hi = min(times) - min(times) % HOUR, max(times) - max(times) % HOUR + HOUR  # whole hours
    span = {"from": _iso(lo), "to": _iso(hi)}
    _active_users(client, want, span)
    _revenue(client, want, span)
    _products(client, want, span)
    _funnel(client, want, span)
    _data_quality(client, want, span)
    _sessions(client, want, span)


def _active_users(client: TestClient, want: Expected, span: dict[str, str]) -> None:
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


def _revenue(client: TestClient, want: Expected, span: dict[str, str]) -> None:
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


def _product_totals(events: Iterable[BaseEvent]) -> dict[str, dict[str, Any]]:
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


def _products(client: TestClient, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/products", **span, sort="revenue", limit=5)
    _assert_ranking(body, _product_totals(want.accepted), "revenue", 5)
    desktop = [e for e in want.accepted if e.device_type == "desktop"]
    body = _get(client, "/metrics/products", **span, sort="views", limit=3, offset=0, device_type="desktop")
    assert "events" in body["meta"]["source"]  # a session dimension: the events table
    _assert_ranking(body, _product_totals(desktop), "views", 3)

    top = body["data"][0]["product_id"]
    series = _get(client, f"/metrics/products/{top}", **span)
    minutes = _by_bucket((e for e in want.accepted if getattr(e, "product_id", None) == top), MINUTE, _time)
    for point in series["data"]:
        t = _product_totals(minutes.get(_ms(point["bucket"]), [])).get(top)
        assert point["views"] == (t["views"] if t else 0)
        assert _close(point["revenue"], t["revenue"] if t else 0.0)


def _funnel(client: TestClient, want: Expected, span: dict[str, str]) -> None:
    body = _get(client, "/metrics/funnel", **span, breakdown="device_type")
    for segment in body["data"]:
        events = [e for e in want.accepted if e.device_type == segment["segment"]]
        for step in segment["steps"]:
            matching = [e for e in events if e.event_type == step["step"]]
            assert step["events"] == len(matching)
            assert step["sessions"] == len({e.session_id for e in matching})
    assert {s["segment"] for s in body["data"]} == {e.device_type for e in want.accepted}


def _data_quality(client: TestClient, want: Expected, span: dict[str, str]) -> None:
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


def _sessions(client: TestClient, want: Expected, span: dict[str, str]) -> None:
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
