from __future__ import annotations

from bench.api_load import parse_vegeta_csv, summarise

# `vegeta encode --to csv`: timestamp ns, code, latency ns, bytes out, bytes in, error, body, attack,
# seq, method, url, headers; code 0 is a request that got no answer (timeout, refused connection)
VEGETA_CSV = """1796080620530621838,200,3000000,0,33,,eyJ9,,0,GET,http://127.0.0.1:8000/health,SA==
1796080620730767007,200,14000000,0,33,,eyJ9,,1,GET,http://127.0.0.1:8000/health,SA==
1796080620930767007,503,50000000,0,80,,eyJ9,,2,GET,http://127.0.0.1:8000/health,SA==
1796080621648488229,0,10000000000,0,0,"Get ""http://127.0.0.1:8000/health"": timeout",,,3,GET,http://127.0.0.1:8000/health,
"""


def test_vegeta_rows_become_latencies_of_answers_and_errors_timeouts_included() -> None:
    latencies, errors = parse_vegeta_csv(VEGETA_CSV)
    assert latencies == [3.0, 14.0]
    assert errors == 2


def test_summary_reports_the_achieved_rate_not_the_target() -> None:
    result = summarise("API x", rate=100, seconds=2, latencies=[1.0] * 50 + [9.0] * 50, errors=0)
    assert result.achieved_rps == 50
    assert (result.p50_ms, result.p99_ms) == (1.0, 9.0)
    assert result.cpu_us_per_request is None


def test_cpu_per_request_counts_every_request_sent() -> None:
    result = summarise("API x", rate=100, seconds=1, latencies=[1.0] * 90, errors=10, cpu_s=0.25)
    assert result.cpu_us_per_request == 2500.0
