from __future__ import annotations

import os
from pathlib import Path

from bench.footprint import Sampler
from core.settings import Settings


def test_the_sampler_measures_the_processes_it_is_given(tmp_path: Path) -> None:
    sampler = Sampler(Settings(run_dir=tmp_path), interval_s=0.05, extra={"me": os.getpid()}).start()
    sum(i * i for i in range(2_000_000))  # some CPU to measure
    rows = sampler.stop()
    assert rows["me"]["rss_max_gib"] > 0
    assert len(sampler.usage["me"].cpu_percent) >= 1
    assert rows["TOTAL"]["rss_max_gib"] == rows["me"]["rss_max_gib"]
