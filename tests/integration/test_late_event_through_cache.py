"""A late event that changes a closed minute shows in the API's answer, query cache or not (issue 16:
"never a wrong answer from a cache").

The API caches each Pinot answer for `api_cache_ttl_s` (here 5 s, so that the cache is surely in the
way) and refreshes it ahead of expiry; it never caches a closed minute for longer. Whole responses are
reused within a second while those answers hold (api/response_cache.py), which adds no lifetime. The
test asks for a closed minute until it is served, asks again and checks that this answer came from a
cache, then sends
one late event into that minute, waits until Pinot's table counts it, and requires the API's answer to
include it within one cache lifetime (plus 5 s for the refresh's query on a loaded machine). The
expected counts are computed here from the events sent, in plain Python.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

import httpx
import orjson
import pytest

from api.main import create_app
from core.settings import Settings
from event_generator.behaviour import EventStream
from event_generator.faults import Fault, Outgoing
from query.analytics import Tables
from query.pinot import Pinot
from tests.support.api_checks import scrape
from tests.support.builders import api_server
from tests.support.e2e import running_pipeline, send_all
from tests.support.polling import poll_until

pytestmark = pytest.mark.integration
MINUTE_MS = 60_000
CACHE_TTL_S = 5.0


def _minute_counts(events: list[dict[str, Any]], minute_ms: int) -> tuple[int, int]:
    """(distinct users, events) with an event time in the minute starting at `minute_ms`."""
    inside = [e for e in events if minute_ms <= e["event_timestamp"] < minute_ms + MINUTE_MS]
    return len({e["user_id"] for e in inside}), len(inside)


def _served(client: httpx.Client, minute_ms: int) -> tuple[int, int]:
    start = datetime.fromtimestamp(minute_ms / 1000, UTC)
    r = client.get(
        "/metrics/active-users",
        params={
            "from": start.isoformat(),
            "to": (start + timedelta(minutes=1)).isoformat(),
            "granularity": "minute",
        },
    )
    assert r.status_code == 200, r.text[:300]
    points = r.json()["data"]
    assert len(points) == 1, points
    return points[0]["active_users"], points[0]["events"]


def _cache_hits(client: httpx.Client) -> float:
    """Hits of the query cache and of the response cache (a whole answer kept for its second)."""
    scraped = scrape(client)
    return sum(
        v
        for name in ("rta_api_cache_lookups_total", "rta_api_response_cache_lookups_total")
        for k, v in scraped.get(name, {}).items()
        if dict(k)["result"] == "hit"
    )


def test_a_late_event_into_a_closed_minute_shows_in_the_cached_answer(settings: Settings) -> None:
    cached = settings.model_copy(update={"api_cache_ttl_s": CACHE_TTL_S})
    now = datetime.now(UTC)
    stream = EventStream(31, start=now - timedelta(minutes=6), rate=2.0, users=300, products=60)
    events = list(islice(stream, 600))  # five minutes of event time, up to a minute ago
    wire = [orjson.loads(e.to_json_bytes()) for e in events]
    minute_ms = (wire[0]["event_timestamp"] // MINUTE_MS + 2) * MINUTE_MS  # closed: the watermark is past it
    users, count = _minute_counts(wire, minute_ms)
    assert count > 0
    with running_pipeline(cached, "late_cache") as pipeline:
        send_all(
            cached,
            pipeline.topics.raw_events,
            [Outgoing(e.session_id.encode(), e.to_json_bytes(), Fault.NONE) for e in events],
            rate=2000,
        )
        with (
            api_server(create_app(cached, Tables(**pipeline.tables))) as url,
            httpx.Client(base_url=url, timeout=30) as client,
        ):
            poll_until(
                lambda: _served(client, minute_ms),
                lambda got: got == (users, count),
                timeout_s=120,
                what="the closed minute served",
            )
            hits = _cache_hits(client)
            assert _served(client, minute_ms) == (users, count)
            assert _cache_hits(client) > hits  # that answer came from the cache

            # One more page view in that minute, from a user not seen in it: the watermark has passed
            # the minute's end, so the event is late, and the late-data rule counts it.
            late = {
                **wire[0],
                "event_id": "late-into-a-closed-minute",
                "user_id": "late-user",
                "session_id": "late-session",
            }
            late["event_timestamp"] = minute_ms + 30_000
            send_all(
                cached,
                pipeline.topics.raw_events,
                [Outgoing(b"late-session", orjson.dumps(late), Fault.NONE)],
                rate=10,
            )
            # Pinot first, with the API asked all along so that its cache stays warm (refresh-ahead),
            # then the API: from the moment Pinot has the event, the API may keep the old answer at
            # most one cache lifetime, plus the refresh's query and this machine's load.
            table = pipeline.tables["active_users"]

            def pinot_and_api() -> list[tuple[int, int]]:
                _served(client, minute_ms)
                rows = pinot.rows(
                    f"SELECT active_users, events FROM {table} WHERE window_start = :m", {"m": minute_ms}
                )
                return [(int(r["active_users"]), int(r["events"])) for r in rows]

            with Pinot(cached) as pinot:
                poll_until(
                    pinot_and_api,
                    lambda rows: rows == [(users + 1, count + 1)],
                    timeout_s=60,
                    what="Pinot counting the late event",
                    interval_s=0.2,
                )
            in_pinot = time.monotonic()
            poll_until(
                lambda: _served(client, minute_ms),
                lambda got: got == (users + 1, count + 1),
                timeout_s=CACHE_TTL_S + 30,
                what="the late event in the served minute",
                interval_s=0.2,
            )
            assert time.monotonic() - in_pinot <= CACHE_TTL_S + 5.0
            assert _served(client, minute_ms) == (users + 1, count + 1)  # and it stays
