from __future__ import annotations

from bench.sustained import Run, Sample, hopeless, summarise


def run_with(lags: list[int], delays: list[float], rate: float = 1000, sent_rate: float = 1000) -> Run:
    samples = [Sample(30 + i, lag, d) for i, (lag, d) in enumerate(zip(lags, delays, strict=True))]
    return Run(rate=rate, duration_s=30 + len(samples), send_rate=sent_rate, samples=samples)


def test_a_flat_backlog_holds() -> None:
    summary = summarise(run_with([900, 1100] * 50, [2.0, 2.5] * 50))
    assert summary["holds"] is True


def test_a_growing_backlog_does_not_hold() -> None:
    lags = [1000 * i for i in range(100)]
    assert summarise(run_with(lags, [2.0] * 100))["holds"] is False


def test_a_growing_delay_does_not_hold() -> None:
    delays = [2.0 + i / 10 for i in range(100)]
    assert summarise(run_with([1000] * 100, delays))["holds"] is False


def test_a_generator_that_fell_short_of_the_rate_does_not_count_as_holding() -> None:
    assert summarise(run_with([1000] * 100, [2.0] * 100, sent_rate=800))["holds"] is False


def test_windows_are_summarised_by_percentile() -> None:
    run = run_with([1000] * 100, [2.0] * 100)
    run.window_final_s = {f"m{i}": float(i) for i in range(1, 11)}
    summary = summarise(run)
    assert (summary["windows"], summary["window_final_max_s"]) == (10, 10.0)


def test_a_run_given_up_on_does_not_hold_and_reports_when() -> None:
    run = run_with([900, 1100] * 50, [2.0, 2.5] * 50)
    run.gave_up_at_s = 95.0
    summary = summarise(run)
    assert (summary["holds"], summary["gave_up_at_s"]) == (False, 95)


def test_a_run_is_given_up_on_only_past_the_warm_up_and_the_delay_limit() -> None:
    run = Run(rate=1000, duration_s=1800, give_up_delay_s=60)
    assert not hopeless(run, Sample(30, 90_000, 90.0))  # the warm-up minute: a backlog is expected
    assert not hopeless(run, Sample(61, 90_000, 60.0))  # at the limit, whatever the lag in records
    assert not hopeless(run, Sample(61, 90_000, None))  # Pinot could not say
    assert hopeless(run, Sample(61, 10, 60.5))
    assert not hopeless(Run(rate=1000, duration_s=1800), Sample(600, 10**9, 10**4))  # no limit set
