from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.footprint import Sampler
from core.settings import Settings


def _cpu_samples(sampler: Sampler) -> int:
    usage = sampler.usage.get("me")
    return 0 if usage is None else len(usage.cpu_percent)


@pytest.mark.slow
def test_the_sampler_measures_the_processes_it_is_given(tmp_path: Path) -> None:
    sampler = Sampler(Settings(run_dir=tmp_path), interval_s=0.05, extra={"me": os.getpid()}).start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _cpu_samples(sampler) < 2:
        sum(i * i for i in range(100_000))  # some CPU to measure, until two samples are in
    rows = sampler.stop()
    assert len(sampler.usage["me"].cpu_percent) >= 2
    assert rows["me"]["rss_max_gib"] > 0
    assert rows["TOTAL"]["rss_max_gib"] == rows["me"]["rss_max_gib"]
