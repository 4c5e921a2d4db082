"""Wait on a condition by polling, never by a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(
    fetch: Callable[[], T], done: Callable[[T], bool], *, timeout_s: float, what: str, interval_s: float = 0.5
) -> T:
    """Call `fetch` until `done(value)`; on timeout fail with the last value seen."""
    deadline = time.monotonic() + timeout_s
    value = fetch()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout_s:.0f}s waiting for {what}; last value: {value!r}"
            )
        time.sleep(interval_s)  # poll interval between checks of a readiness condition
        value = fetch()
    return value
