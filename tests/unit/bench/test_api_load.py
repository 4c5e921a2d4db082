from __future__ import annotations

from bench.api_load import parse_hey_csv, summarise

HEY_CSV = """response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,status-code,offset
0.0030,0.0008,0.0000,0.0001,0.0018,0.0001,200,0.5034
0.0140,0.0000,0.0000,0.0000,0.0011,0.0108,200,0.5042
0.0500,0.0000,0.0000,0.0000,0.0011,0.0108,503,0.6042
"""


def test_hey_rows_become_latencies_of_answers_and_errors() -> None:
    latencies, errors = parse_hey_csv(HEY_CSV)
    assert latencies == [3.0, 14.0]
    assert errors == 1


def test_summary_reports_the_achieved_rate_not_the_target() -> None:
    result = summarise("API x", rate=100, seconds=2, latencies=[1.0] * 50 + [9.0] * 50, errors=0)
    assert result.achieved_rps == 50
    assert (result.p50_ms, result.p99_ms) == (1.0, 9.0)
