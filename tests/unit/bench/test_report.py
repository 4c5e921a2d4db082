from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import BEGIN, END, load, render, targets, write


def _throughput(served_events: int = 990) -> dict[str, Any]:
    oracle = {"events rows": 990, "dead_letters rows": 10}
    return {
        "raw_records": 1000,
        "malformed": 10,
        "output_records": 1840,
        "events_per_s": 6000,
        "duckdb_events_per_s": 1_000_000,
        "seconds": {
            "prefill": 1.0,
            "job_read": 0.15,
            "job_committed": 0.16,
            "pinot_consumed": 0.166,
            "final": 0.1667,
            "duckdb": 0.001,
        },
        "oracle": oracle,
        "served": {**oracle, "events rows": served_events},
        "cpu": {
            "flink-taskmanager": {"cpu_mean_percent": 106.1, "rss_max_gib": 3.4},
            "TOTAL": {"cpu_mean_percent": 171.7, "rss_max_gib": 6.9},
        },
        "cpu_us_per_event": {"flink-taskmanager": 164.0, "TOTAL": 266.0},
        "jfr": {},
    }


def _sustained(
    rate: float, holds: bool, duration: float = 300, gave_up: float | None = None
) -> dict[str, Any]:
    summary = {
        "holds": holds,
        "rate_sent": rate,
        "gave_up_at_s": gave_up,
        "lag_mean_first_half": 100,
        "lag_mean_second_half": 120,
        "window_final_p50_s": 5,
        "window_final_p95_s": 7,
    }
    total = {"cpu_mean_percent": 150, "rss_mean_gib": 5.0, "rss_max_gib": 5.5}
    return {"rate": rate, "duration_s": duration, "summary": summary, "processes": {"TOTAL": total}}


def _api(target: str, rate: float, p99: float, achieved: float) -> dict[str, Any]:
    return {
        "target": target,
        "rate": rate,
        "achieved_rps": achieved,
        "errors": 0,
        "p50_ms": 1.0,
        "p95_ms": 2.0,
        "p99_ms": p99,
        "cpu_us_per_request": 500.0,
    }


def test_each_target_gets_its_measured_value_and_how_far_it_is() -> None:
    found = {
        "pipeline-throughput": _throughput(),
        "sustained-2500-300s": _sustained(2500, True),
        "sustained-3500-300s": _sustained(3500, False),
        "sustained-10000-1800s": _sustained(10000, False, 1800, gave_up=75),
        "at-rest": {
            "total_percent": 25.0,
            "cpu": {"flink-taskmanager": {"cpu_mean_percent": 17.0}},
            "seconds": 300,
            "raw_records_arrived": 0,
        },
        "api-load": {
            "results": [
                _api("API health", 300, 12.0, 300),
                _api("API revenue", 300, 60.0, 300),
                _api("API health", 2000, 9.0, 2000),
                _api("API active-users (minute)", 2000, 900.0, 1000),
            ]
        },
    }
    numbered = [(row.split(" | ")[0].removeprefix("| ").split(".")[0], row) for row in targets(found)[2:]]
    rows = {number + ("b" if "cacheable" in row else ""): row for number, row in numbered}
    assert "**6,000 ev/s**" in rows["1"]
    assert "served figures equal DuckDB's" in rows["1"]
    assert rows["1"].endswith("| missed, 5.0× short |")
    assert "highest rate that held for 300 s: **2,500 ev/s**" in rows["3"]
    assert "given up after 75 s" in rows["3"]
    assert rows["3"].endswith("| missed, 4.0× short |")  # 2,500 of 10,000
    assert "**25.0 %**" in rows["4"]
    assert rows["4"].endswith("| missed, 2.5× short |")
    p99 = next(row for row in targets(found) if "API p99" in row)
    assert "worst p99 **60.0 ms** (revenue" in p99
    assert p99.endswith("| missed, 2.0× short |")  # 60 ms against 30
    assert "active-users (minute): 1,000/s answered" in rows["5b"]
    assert rows["5b"].endswith("| missed, 2.0× short (metric route) |")  # 1,000/s against 2,000


def test_a_served_figure_that_differs_from_duckdb_is_called_out() -> None:
    assert "**served ≠ DuckDB**" in "\n".join(
        targets({"pipeline-throughput": _throughput(served_events=989)})
    )


def test_a_met_target_says_so() -> None:
    rest = {"total_percent": 8.0, "cpu": {}, "seconds": 300, "raw_records_arrived": 0}
    assert "met (1.2× the target)" in "\n".join(targets({"at-rest": rest}))


def test_only_results_written_since_the_run_started_are_read(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_text(json.dumps({"a": 1}))
    os.utime(tmp_path / "old.json", (1_000, 1_000))
    (tmp_path / "new.json").write_text(json.dumps({"b": 2}))
    assert load(tmp_path, since=2_000) == {"new": {"b": 2}}


def test_the_section_is_replaced_in_place_and_the_rest_of_the_file_kept(tmp_path: Path) -> None:
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\nintro\n")
    started = datetime(2026, 12, 1, 2, 25, tzinfo=UTC)
    write(docs, render({"pipeline-throughput": _throughput()}, started, "2 cores", "abc1234"))
    first = docs.read_text()
    assert first.startswith("# Benchmarks\n\nintro\n\n" + BEGIN)
    assert first.rstrip().endswith(END)
    assert "Started 2026-12-01 02:25 UTC at commit `abc1234`; 2 cores" in first
    write(
        docs,
        render(
            {
                "at-rest": {
                    "total_percent": 8.0,
                    "cpu": {},
                    "seconds": 300,
                    "raw_records_arrived": 0,
                    "settle_s": 120,
                }
            },
            started,
            "2 cores",
            "def5678",
        ),
    )
    second = docs.read_text()
    assert second.count(BEGIN) == 1
    assert "abc1234" not in second
    assert "6,000" not in second
    assert second.startswith("# Benchmarks\n\nintro\n\n")


def test_a_rate_with_no_answer_shows_no_latency_rather_than_nan() -> None:
    dead = {
        **_api("API active-users (minute)", 2000, float("nan"), 0.0),
        "p50_ms": float("nan"),
        "p95_ms": float("nan"),
    }
    found = {"api-load": {"results": [_api("API health", 2000, 9.5, 1757.0), dead]}}
    text = "\n".join(targets(found)) + "\n" + render(found, datetime(2026, 12, 1, tzinfo=UTC), "m", "c")
    assert "nan" not in text
    assert "active-users (minute): 0/s answered, p99 – ms" in text
    assert "| – / – / – |" in text


def test_the_in_process_api_cost_shows_both_paths_for_the_metric_routes() -> None:
    cost = {
        "routes": [
            {"route": "/health", "computed_us": 90.0, "response_cache_us": 91.0},
            {"route": "/metrics/revenue?from=-1h", "computed_us": 1276.5, "response_cache_us": 117.0},
            {"route": "/metrics/active-users?from=-15m", "computed_us": 762.6, "response_cache_us": 104.0},
        ]
    }
    text = render({"api-cost": cost}, datetime(2026, 12, 2, tzinfo=UTC), "m", "c")
    assert "763–1276 µs computed from the query cache, 104–117 µs answered whole" in text
