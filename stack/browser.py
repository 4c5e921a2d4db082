"""Headless Chromium for the dashboard's tests and benchmarks: Debian's browser and chromedriver (installed
by `make browser`), driven with Selenium, with the flags that work on machines whose only network is
loopback (a browser that tries the internet stalls on refused connections).

Selenium is a dev dependency: import this module from tests and benchmarks only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from stack.bootstrap import BROWSER

CHROMIUM, CHROMEDRIVER = BROWSER
FLAGS = (
    "--headless",
    "--no-sandbox",  # as root, and in containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
DESKTOP = (1400, 2400)
PHONE = (390, 2400)
MIN_WINDOW_WIDTH = 500  # headless Chromium's narrowest window


@contextmanager
def chromium(profile: Path, size: tuple[int, int] = DESKTOP) -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium (its own profile folder `profile`), console messages kept for get_log."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if size[0] < MIN_WINDOW_WIDTH:  # a phone: emulate its viewport (a headless window is never narrower)
        metrics = {"width": size[0], "height": size[1], "pixelRatio": 1, "mobile": True, "touch": True}
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": metrics})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def wait_ready(driver: WebDriver, timeout_s: float = 90) -> float:
    """Wait for the dashboard's first full load; the ms from navigation start to it (`window.rta.readyMs`)."""
    WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'")
    )
    ready_ms: float = driver.execute_script("return window.rta.readyMs")
    return ready_ms
