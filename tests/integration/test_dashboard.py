"""The dashboard in a real browser (Debian's Chromium, driven through chromedriver) on the real stack.

The page is served by the API in uvicorn over a fresh pipeline's tables; what it shows is compared with
the API's answers and with the oracle (tests/support/oracle.py) computed from the raw topic. Any
JavaScript console error fails a test. Screenshots (desktop and phone widths) are written to
test-artifacts/dashboard/.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from api.auth import digest
from api.main import create_app
from core.settings import ApiKey, Settings
from event_generator.behaviour import EventStream
from event_generator.faults import FaultShares, apply_faults
from query.analytics import Tables
from stack.browser import PHONE, chromium, wait_ready
from tests.support.api_checks import oracle_totals, whole_hours
from tests.support.builders import api_server, free_port
from tests.support.e2e import assert_pinot_serves, running_pipeline, send_all, settled_records, traffic
from tests.support.oracle import Expected, expected
from tests.support.polling import poll_until
from toolchain.versions import REPO_ROOT

pytestmark = pytest.mark.integration

ARTIFACTS = REPO_ROOT / "test-artifacts" / "dashboard"
KPIS = [
    "product_views",
    "add_to_carts",
    "purchases",
    "revenue",
    "active_users",
    "orders",
    "unique_products_viewed",
]
KPIS += [
    "average_sale_price",
    "average_order_value",
    "conversion",
    "page_views",
    "sessions",
    "customers",
    "events",
]


@dataclass(frozen=True)
class Board:
    url: str
    settings: Settings
    raw_topic: str
    tables: Tables
    want: Expected
    span: dict[str, str]  # whole UTC hours around the known events

    def page(self, **state: str) -> str:
        return f"{self.url}/dashboard?{urlencode(state)}"

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        r = httpx.get(f"{self.url}{path}", params=params, timeout=60)
        assert r.status_code == 200, (path, params, r.text[:300])
        body: dict[str, Any] = r.json()
        return body

    def custom_range(self) -> dict[str, str]:
        """The span as the page's custom range: wall times of UTC without an offset, and tz=UTC."""
        return {"range": "custom", "from": self.span["from"][:16], "to": self.span["to"][:16], "tz": "UTC"}


@pytest.fixture(scope="module")
def board(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    with running_pipeline(settings, "dash") as pipeline:
        sent = traffic(datetime.now(UTC) - timedelta(seconds=150), count=3000, seed=31)
        send_all(settings, pipeline.topics.raw_events, sent, rate=1500)
        want = expected(settled_records(settings, pipeline.topics.raw_events), settings)
        assert_pinot_serves(settings, pipeline.tables, want)  # waits until Pinot holds all of it
        api_settings = settings.model_copy(update={"api_live_interval_s": 1.0})
        with api_server(create_app(api_settings, Tables(**pipeline.tables))) as url:
            tables = Tables(**pipeline.tables)
            yield Board(url, settings, pipeline.topics.raw_events, tables, want, whole_hours(want))


def console_errors(driver: Chrome, allowed: Callable[[str], bool] = lambda _: False) -> list[str]:
    """SEVERE console entries and errors the page caught itself (window.rta.errors), minus `allowed`."""
    logged = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    caught = driver.execute_script("return (window.rta && window.rta.errors) || []")
    return [m for m in [*logged, *caught] if not allowed(m)]


def open_page(driver: WebDriver, url: str) -> float:
    """Load `url` and wait for the first full load of every panel; the ms from navigation to that."""
    driver.get(url)
    return wait_ready(driver)


def kpis(driver: WebDriver) -> dict[str, float | None]:
    raw: dict[str, str] = driver.execute_script(
        "const out = {}; document.querySelectorAll('[data-testid^=\"kpi-\"]').forEach("
        "e => out[e.dataset.testid.slice(4)] = e.dataset.value); return out"
    )
    return {k: (float(v) if v != "" else None) for k, v in raw.items()}


def assert_same_totals(shown: dict[str, float | None], want: dict[str, Any]) -> None:
    for name in KPIS:
        expected_value = want[name]
        if expected_value is None:
            assert shown[name] is None, name
        else:
            value = shown[name]
            assert value is not None, name
            assert math.isclose(value, expected_value, rel_tol=1e-9, abs_tol=1e-9), name


def url_state(driver: WebDriver) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(driver.current_url).query).items()}


def shoot(driver: WebDriver, name: str) -> Path:
    """The whole page in one picture, beyond the viewport (Chrome DevTools Protocol)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16_000), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = ARTIFACTS / f"{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def test_the_page_shows_the_oracles_numbers(board: Board, tmp_path: Path) -> None:
    with chromium(tmp_path) as driver:
        load_ms = open_page(
            driver, board.page(**board.custom_range(), live="0", compare="1", psort="revenue")
        )
        print(f"\ndashboard first full load: {load_ms:.0f} ms")

        api = board.api("/metrics/summary", **board.span, compare="previous_period")
        shown = kpis(driver)
        assert_same_totals(shown, api["data"])
        assert_same_totals(shown, oracle_totals(board.want.accepted))

        ranking = board.api("/metrics/products", **board.span, sort="revenue", limit=10)
        rows = driver.find_elements("css selector", '[data-testid="product-row"]')
        assert [r.get_attribute("data-product-id") for r in rows] == [
            p["product_id"] for p in ranking["data"]
        ]

        sessions = board.api("/metrics/sessions", **board.span, limit=10)
        rows = driver.find_elements("css selector", '[data-testid="session-row"]')
        assert [r.get_attribute("data-session-id") for r in rows] == [
            s["session_id"] for s in sessions["data"]
        ]
        rows[0].click()  # the drill-down
        poll_until(
            lambda: driver.find_element("css selector", '[data-testid="session-detail"]').get_attribute(
                "data-session-id"
            ),
            lambda sid: sid == sessions["data"][0]["session_id"],
            timeout_s=20,
            what="the session drill-down",
        )
        assert url_state(driver)["session"] == sessions["data"][0]["session_id"]

        for testid, attribute, path, params, key in (
            (
                "referrer-row",
                "data-host",
                "/metrics/referrers",
                {"sort": "page_views", "limit": 10},
                "referrer_host",
            ),
            (
                "landing-row",
                "data-page",
                "/metrics/landing-pages",
                {"sort": "sessions", "limit": 10},
                "landing_page",
            ),
        ):
            ranked = [row[key] for row in board.api(path, **board.span, **params)["data"]]
            shown = driver.find_elements("css selector", f'[data-testid="{testid}"]')
            assert ranked
            assert [r.get_attribute(attribute) for r in shown] == ranked, path
        cohorts = board.api("/metrics/retention", **board.span, period="day")["cohorts"]
        shown = driver.find_elements("css selector", '[data-testid="cohort-row"]')
        assert [r.get_attribute("data-cohort") for r in shown] == [c["cohort"] for c in cohorts]
        assert cohorts

        dead = driver.find_elements("css selector", '[data-testid="deadletter-row"]')
        assert 0 < len(dead) == min(len(board.want.dead_letters), 10)
        topics = [
            r.get_attribute("data-topic")
            for r in driver.find_elements("css selector", '[data-testid="topic-row"]')
        ]
        assert board.raw_topic in topics

        assert console_errors(driver) == []
        driver.set_window_size(1400, 1000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "desktop-top.png"))  # the first screen: docs/dashboard.png
        shoot(driver, "desktop")

    with chromium(tmp_path / "phone", PHONE) as driver:
        open_page(driver, board.page(**board.custom_range(), live="0"))
        width, overflow = driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth - window.innerWidth]"
        )
        assert width == PHONE[0]
        assert overflow <= 0, f"the page is {overflow} px wider than a phone"
        assert console_errors(driver) == []
        shoot(driver, "phone")


def test_a_filter_and_a_time_zone_change_the_url_and_the_panels(board: Board, tmp_path: Path) -> None:
    with chromium(tmp_path) as driver:
        open_page(driver, board.page(**board.custom_range(), live="0"))
        loads = driver.execute_script("return window.rta.loads")
        Select(driver.find_element("id", "device_type")).select_by_value("mobile")
        poll_until(
            lambda: driver.execute_script("return window.rta.loads"),
            lambda n: n > loads,
            timeout_s=60,
            what="a reload",
        )
        assert url_state(driver)["device_type"] == "mobile"
        mobile = [e for e in board.want.accepted if e.device_type == "mobile"]
        shown = kpis(driver)
        assert_same_totals(shown, oracle_totals(mobile))
        assert_same_totals(shown, board.api("/metrics/summary", **board.span, device_type="mobile")["data"])

        # Kathmandu is +05:45: the custom range's wall times now mean other instants, and the
        # hour-of-day panel counts local hours.
        loads = driver.execute_script("return window.rta.loads")
        Select(driver.find_element("id", "tz")).select_by_value("Asia/Kathmandu")
        poll_until(
            lambda: driver.execute_script("return window.rta.loads"),
            lambda n: n > loads,
            timeout_s=60,
            what="a reload",
        )
        state = url_state(driver)
        assert (state["tz"], state["device_type"]) == ("Asia/Kathmandu", "mobile")
        params = {"from": state["from"], "to": state["to"], "tz": "Asia/Kathmandu", "device_type": "mobile"}
        assert_same_totals(kpis(driver), board.api("/metrics/summary", **params)["data"])
        hours = driver.execute_script(
            "const c = echarts.getInstanceByDom(document.getElementById('chart-hours'));"
            "return c.getOption().series[0].data.map(d => (d && d.value !== undefined) ? d.value : d)"
        )
        served = board.api("/metrics/page-views/hour-of-day", **params)
        assert [float(v) for v in hours] == [float(h["page_views"]) for h in served["data"]]

        # A link reproduces the view.
        link = driver.current_url
        with chromium(tmp_path / "link") as other:
            open_page(other, link)
            assert url_state(other) == url_state(driver)
            assert kpis(other) == kpis(driver)
            assert console_errors(other) == []
        assert console_errors(driver) == []


def _send_now(board: Board, count: int, seed: int) -> int:
    """`count` valid events from now on (50 a second of event time); the panel's gain."""
    stream = EventStream(seed, start=datetime.now(UTC), rate=50.0, users=50, products=20)
    send_all(
        board.settings, board.raw_topic, list(apply_faults(islice(stream, count), FaultShares(), seed)), 1000
    )
    return count


def test_new_events_appear_without_a_reload(board: Board, tmp_path: Path) -> None:
    with chromium(tmp_path) as driver:
        open_page(driver, board.page(range="15m", live="1", tz="UTC"))
        poll_until(
            lambda: driver.execute_script("return window.rta.pushes"),
            lambda n: n > 0,
            timeout_s=30,
            what="a push",
        )
        driver.execute_script("window.__sameDocument = 42")
        delays = []
        for i in range(3):
            before = float(
                driver.find_element("css selector", '[data-testid="live-total-events"]').get_attribute(
                    "data-value"
                )
                or 0
            )
            sent_at = time.monotonic()
            n = _send_now(board, 40, seed=100 + i)
            poll_until(
                lambda: float(
                    driver.find_element("css selector", '[data-testid="live-total-events"]').get_attribute(
                        "data-value"
                    )
                    or 0
                ),
                lambda v, want=before + n: v >= want,
                timeout_s=60,
                what="the new events on the page",
            )
            delays.append(time.monotonic() - sent_at)
        print(f"\nevent sent -> on the page: {', '.join(f'{d:.1f}' for d in delays)} s")
        assert driver.execute_script("return window.__sameDocument") == 42  # no reload happened
        assert console_errors(driver) == []


def test_the_live_stream_reconnects_after_the_api_restarts(board: Board, tmp_path: Path) -> None:
    port = free_port()
    app_settings = board.settings.model_copy(update={"api_live_interval_s": 1.0})
    tables = board.tables
    with chromium(tmp_path) as driver:
        with api_server(create_app(app_settings, tables), port=port) as url:
            open_page(driver, f"{url}/dashboard?range=15m&live=1")
            poll_until(
                lambda: driver.execute_script("return window.rta.pushes"),
                lambda n: n > 0,
                timeout_s=30,
                what="a push",
            )
        # The API is gone: the page says so instead of going blank, and the stream reconnects when it is back.
        poll_until(
            lambda: driver.find_element("id", "live-state").get_attribute("data-state"),
            lambda s: s != "live",
            timeout_s=30,
            what="the page noticing the API is gone",
        )
        pushes = driver.execute_script("return window.rta.pushes")
        with api_server(create_app(app_settings, tables), port=port):
            poll_until(
                lambda: driver.execute_script("return window.rta.pushes"),
                lambda n: n > pushes,
                timeout_s=60,
                what="pushes after the restart",
            )
            assert driver.find_element("id", "live-state").get_attribute("data-state") == "live"
        # While the API was down the browser logged its refused connections; nothing else may be logged.
        assert console_errors(driver, allowed=lambda m: "ERR_CONNECTION_REFUSED" in m or "stream" in m) == []


def test_api_errors_are_readable_messages_in_the_panels(board: Board, tmp_path: Path) -> None:
    with chromium(tmp_path) as driver:
        open_page(
            driver, board.page(range="custom", **{"from": "yesterday"}, to=board.span["to"][:16], live="0")
        )
        box = driver.find_element("css selector", '[data-testid="error-kpis"]')
        assert box.is_displayed()
        assert "from" in box.text, box.text
        assert "Traceback" not in driver.page_source
        # The browser logs each 422 response itself; the page adds no console error of its own.
        assert console_errors(driver, allowed=lambda m: "status of 422" in m) == []


def test_the_dashboard_works_with_an_api_key(board: Board, tmp_path: Path) -> None:
    key = "rta_dashboard-test-key"
    keyed = board.settings.model_copy(
        update={
            "api_auth": "on",
            "api_keys": (ApiKey(name="dash", sha256=digest(key), scopes=("metrics", "sessions", "kafka")),),
        }
    )
    with api_server(create_app(keyed, board.tables)) as url, chromium(tmp_path) as driver:
        driver.get(f"{url}/dashboard?{urlencode({**board.custom_range(), 'live': '1'})}")
        form = driver.find_element("css selector", '[data-testid="key-form"]')
        poll_until(form.is_displayed, bool, timeout_s=30, what="the key prompt")
        poll_until(
            lambda: driver.find_element("css selector", '[data-testid="error-kpis"]').text,
            lambda text: "needs a key" in text,
            timeout_s=30,
            what="a readable 401 in the panels",
        )
        driver.find_element("id", "api-key").send_keys(key)
        driver.find_element("css selector", '#key-form button[type="submit"]').click()
        wait_ready(driver)
        poll_until(
            lambda: driver.execute_script("return window.rta.pushes"),
            lambda n: n > 0,
            timeout_s=30,
            what="a push",
        )
        # The API's answer (the oracle's is checked above: other tests have sent events since).
        served = httpx.get(
            f"{url}/metrics/summary", params=board.span, headers={"X-API-Key": key}, timeout=60
        ).json()["data"]
        poll_until(
            lambda: kpis(driver)["events"], lambda v: v == served["events"], timeout_s=30, what="the KPIs"
        )
        assert_same_totals(kpis(driver), served)
        assert not form.is_displayed()
        assert driver.find_element("css selector", '[data-testid="error-kpis"]').text == ""
        # Before the key was given the browser logged the 401 answers; nothing else may be logged.
        assert console_errors(driver, allowed=lambda m: "status of 401" in m) == []
