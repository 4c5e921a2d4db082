"""The last `make bench` run, written into docs/benchmarks.md: the issue-16 targets with their measured
values and ratios, then each benchmark's figures, with the date, the commit and the machine.

    .venv/bin/python -m bench.report              (the last step of `make bench`)

Reads the JSON each benchmark wrote to bench/results/ since `make bench` started (the `.started`
marker it touches first; older files are another run's and are left out) and replaces the part of
docs/benchmarks.md between the two LATEST markers (appended if they are missing). A benchmark that
did not run leaves its rows out; nothing is carried over from an earlier run.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from toolchain.versions import REPO_ROOT

RESULTS = Path(__file__).parent / "results"
MARKER = RESULTS / ".started"
DOCS = REPO_ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- LATEST make bench: written by bench/report.py, do not edit by hand -->"
END = "<!-- LATEST end -->"

PIPELINE_TARGET = 30_000.0  # events/s, pre-filled raw topic to Pinot final
FLINK_DUCKDB_TARGET = 10.0  # Flink stage within 10x of DuckDB
SUSTAINED_TARGET = 10_000.0  # events/s for 30 minutes, generator on the machine
REST_TARGET = 10.0  # % of one core, the whole stack
API_P99_TARGET_MS = 30.0  # at 300 requests/s on every route
CACHEABLE_TARGET = 2_000.0  # requests/s for an answer served from the cache

Results = dict[str, Any]


def load(results: Path = RESULTS, since: float | None = None) -> dict[str, Results]:
    """File stem -> parsed JSON, for each result written at or after `since` (epoch seconds)."""
    found = {}
    for path in sorted(results.glob("*.json")):
        if since is None or path.stat().st_mtime >= since:
            found[path.stem] = json.loads(path.read_text())
    return found


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _ms(value: float | None) -> str:
    """A latency in ms, or "–" when nothing was answered (vegeta reports NaN then)."""
    return "–" if value is None or value != value else f"{value}"


def _ratio(measured: float, target: float, higher_is_better: bool = True) -> str:
    """'met (1.2× the target)' or 'missed, 4.6× short' (how far the measured value is from the target)."""
    if measured <= 0:
        return "–"
    ratio = measured / target if higher_is_better else target / measured
    return f"met ({ratio:.1f}× the target)" if ratio >= 1 else f"missed, {1 / ratio:.1f}× short"


def _thread(name: str, width: int = 70) -> str:
    """A Flink task thread is named after its whole operator chain: its start names it well enough."""
    return name if len(name) <= width else name[: width - 1] + "…"


def _sustained(found: dict[str, Results]) -> list[Results]:
    runs = [r for name, r in found.items() if name.startswith("sustained-")]
    return sorted(runs, key=lambda r: (r["rate"], r["duration_s"]))


def _api_rows(found: dict[str, Results]) -> list[Results]:
    return list(found.get("api-load", {}).get("results", []))


def targets(found: dict[str, Results]) -> list[str]:
    rows = ["| target | measured | against the target |", "| --- | --- | --- |"]
    if run := found.get("pipeline-throughput"):
        exact = "served figures equal DuckDB's" if run["oracle"] == run["served"] else "**served ≠ DuckDB**"
        rows.append(
            f"| 1. pipeline throughput ≥ {_n(PIPELINE_TARGET)} ev/s | **{_n(run['events_per_s'])} ev/s**: "
            f"{_n(run['raw_records'])} pre-filled raw records to Pinot final in {run['seconds']['final']} s; "
            f"{exact}; TaskManager {run['cpu']['flink-taskmanager']['cpu_mean_percent']} % of a core, "
            f"the stack {run['cpu']['TOTAL']['cpu_mean_percent']} % | "
            f"{_ratio(run['events_per_s'], PIPELINE_TARGET)} |"
        )
    if stage := found.get("flink-stage"):
        duckdb = stage["runs"][0]["events_per_s"]
        flink = {r["name"]: r["events_per_s"] for r in stage["runs"][1:]}
        exactly_once = next((v for k, v in flink.items() if "exactly-once" in k), None)
        blackhole = next((v for k, v in flink.items() if k.startswith("Flink: all (blackhole")), None)
        if exactly_once:
            parts = f"exactly-once {_n(exactly_once)} ev/s: DuckDB {duckdb / exactly_once:.0f}× faster"
            if blackhole:
                parts += f"; blackhole sinks {_n(blackhole)} ev/s: {duckdb / blackhole:.0f}×"
            rows.append(
                f"| 2. Flink stage within {FLINK_DUCKDB_TARGET:.0f}× of DuckDB | DuckDB {_n(duckdb)} ev/s "
                f"over {_n(stage['events'])} events; {parts} | "
                f"{_ratio(duckdb / exactly_once, FLINK_DUCKDB_TARGET, higher_is_better=False)} |"
            )
    runs = _sustained(found)
    if runs:
        target = next((r for r in runs if r["rate"] >= SUSTAINED_TARGET), None)
        ladder = [r for r in runs if r["rate"] < SUSTAINED_TARGET and r["duration_s"] <= 600]
        held = [r["rate"] for r in ladder if r["summary"]["holds"]]
        best = max(held, default=0.0)
        text = (
            f"highest rate that held for {ladder[0]['duration_s']:.0f} s: **{_n(best)} ev/s**"
            if ladder
            else ""
        )
        if target:
            s = target["summary"]
            if s["holds"]:
                outcome = "held"
            elif s.get("gave_up_at_s") is not None:
                outcome = f"given up after {s['gave_up_at_s']} s, falling further behind"
            else:
                outcome = "did not hold"
            text += (
                f"; at {_n(target['rate'])} ev/s asked: {_n(s['rate_sent'])} ev/s sent, {outcome}, "
                f"stack memory max {target['processes']['TOTAL']['rss_max_gib']} GiB"
            )
        measured = target["rate"] if target and target["summary"]["holds"] else best
        rows.append(
            f"| 3. sustained ≥ {_n(SUSTAINED_TARGET)} ev/s for 30 min, generator beside it | {text} | "
            f"{_ratio(measured, SUSTAINED_TARGET)} |"
        )
    if rest := found.get("at-rest"):
        total = rest["total_percent"]
        tm = rest["cpu"].get("flink-taskmanager", {}).get("cpu_mean_percent", 0.0)
        arrived = (
            "" if not rest["raw_records_arrived"] else f" ({rest['raw_records_arrived']:,} records arrived)"
        )
        rows.append(
            f"| 4. at rest ≤ {REST_TARGET:.0f} % of a core, the whole stack | **{total} %**{arrived}, "
            f"TaskManager {tm} %, over {rest['seconds']:.0f} s after the long run | "
            f"{_ratio(total, REST_TARGET, higher_is_better=False)} |"
        )
    api = [r for r in _api_rows(found) if r["target"].startswith("API ")]
    at_300 = [r for r in api if r["rate"] == 300]
    if at_300:
        worst = max(at_300, key=lambda r: r["p99_ms"] if r["p99_ms"] == r["p99_ms"] else float("inf"))
        health = next((r for r in at_300 if r["target"] == "API health"), None)
        text = f"worst p99 **{_ms(worst['p99_ms'])} ms** ({worst['target'][4:]}, {worst['errors']} errors)"
        if health:
            text += f"; `/health` p99 {_ms(health['p99_ms'])} ms"
        rows.append(
            f"| 5. API p99 ≤ {API_P99_TARGET_MS:.0f} ms at 300 requests/s, every route | {text} | "
            f"{_ratio(worst['p99_ms'], API_P99_TARGET_MS, higher_is_better=False)} |"
        )
    peaks = [r for r in api if r["rate"] >= CACHEABLE_TARGET]
    if peaks:
        best_metric = max(
            (r for r in peaks if r["target"] != "API health"), key=lambda r: r["achieved_rps"], default=None
        )
        text = "; ".join(
            f"{r['target'][4:]}: {_n(r['achieved_rps'])}/s answered, p99 {_ms(r['p99_ms'])} ms, "
            f"{_n(r['cpu_us_per_request'] or 0)} µs of CPU each"
            for r in peaks
        )
        measured = best_metric["achieved_rps"] if best_metric else 0.0
        rows.append(
            f"| 5. ≥ {_n(CACHEABLE_TARGET)} requests/s for a cacheable answer | at {_n(peaks[0]['rate'])}/s "
            f"asked: {text} | {_ratio(measured, CACHEABLE_TARGET)} (metric route) |"
        )
    return rows


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    return out + ["| " + " | ".join(row) + " |" for row in rows]


def throughput(found: dict[str, Results]) -> list[str]:
    run = found.get("pipeline-throughput")
    if not run:
        return []
    s, raw = run["seconds"], run["raw_records"]
    stages = [
        ("the job committed every raw offset", s["job_read"]),
        ("+ one more checkpoint (the sinks' transactions committed)", s["job_committed"]),
        ("Pinot consumed every output record", s["pinot_consumed"]),
        ("Pinot serves DuckDB's figures", s["final"]),
        ("DuckDB: the same figures from the same events", s["duckdb"]),
    ]
    lines = [
        f"**Pipeline throughput** (`python -m bench.pipeline_throughput`): {_n(raw)} raw records "
        f"({_n(run['malformed'])} malformed), pre-filled in {s['prefill']} s, "
        f"{run['output_records'] / raw:.2f} output records per raw record.",
        "",
        *_table(
            ["stage, from the job's submission", "s", "raw records/s"],
            [
                [name, str(t), _n(run["duckdb_events_per_s"] if name.startswith("DuckDB") else raw / t)]
                for name, t in stages
                if t
            ],
        ),
        "",
        *_table(
            ["figure", "DuckDB", "Pinot"],
            [[name, _n(v), _n(run["served"].get(name, 0))] for name, v in run["oracle"].items()],
        ),
        "",
        *_table(
            ["process", "CPU % (100 = a core)", "µs per raw record", "RSS max GiB"],
            [
                [name, str(u["cpu_mean_percent"]), _n(run["cpu_us_per_event"][name]), str(u["rss_max_gib"])]
                for name, u in run["cpu"].items()
            ],
        ),
    ]
    for title, shares in run.get("jfr", {}).items():
        top = "; ".join(f"`{_thread(name)}` {share} %" for name, share in shares[:6])
        lines += ["", f"TaskManager JFR, {title}: {top}."]
    return lines


def sustained(found: dict[str, Results]) -> list[str]:
    runs = _sustained(found)
    if not runs:
        return []
    rows = []
    for r in runs:
        s, total = r["summary"], r["processes"].get("TOTAL", {})
        holds = {True: "yes", False: "**no**", None: "–"}[s["holds"]]
        if s.get("gave_up_at_s") is not None:
            holds += f" (given up at {s['gave_up_at_s']} s)"
        rows.append(
            [
                f"{_n(r['rate'])} × {r['duration_s']:.0f} s",
                _n(s["rate_sent"]),
                holds,
                f"{s['lag_mean_first_half']} → {s['lag_mean_second_half']}",
                f"{s['window_final_p50_s']} / {s['window_final_p95_s']}",
                str(total.get("cpu_mean_percent", "–")),
                f"{total.get('rss_mean_gib', '–')} / {total.get('rss_max_gib', '–')}",
            ]
        )
    header = [
        "rate asked",
        "sent/s",
        "holds",
        "lag, halves",
        "window final p50 / p95 s",
        "CPU %",
        "RSS mean / max GiB",
    ]
    return ["**Sustained, end to end** (`python -m bench.sustained`):", "", *_table(header, rows)]


def at_rest(found: dict[str, Results]) -> list[str]:
    rest = found.get("at-rest")
    if not rest:
        return []
    lines = [
        f"**At rest** (`python -m bench.at_rest`), {rest['seconds']:.0f} s after the job caught up and "
        f"{rest['settle_s']:.0f} s of settling:",
        "",
        *_table(
            ["process", "CPU %", "RSS mean GiB"],
            [[name, str(u["cpu_mean_percent"]), str(u["rss_mean_gib"])] for name, u in rest["cpu"].items()],
        ),
    ]
    for title, shares in rest.get("jfr", {}).items():
        lines += [
            "",
            f"TaskManager JFR, {title}: " + "; ".join(f"`{_thread(n)}` {v} %" for n, v in shares[:4]) + ".",
        ]
    return lines


def api_load(found: dict[str, Results]) -> list[str]:
    rows = _api_rows(found)
    if not rows:
        return []
    return [
        "**API under load** (`python -m bench.api_load`, vegeta, generator at 1,000 ev/s):",
        "",
        *_table(
            ["target", "rate", "answered/s", "p50 / p95 / p99 ms", "errors", "API CPU µs/request"],
            [
                [
                    r["target"],
                    _n(r["rate"]),
                    _n(r["achieved_rps"]),
                    f"{_ms(r['p50_ms'])} / {_ms(r['p95_ms'])} / {_ms(r['p99_ms'])}",
                    str(r["errors"]),
                    _n(r["cpu_us_per_request"]) if r.get("cpu_us_per_request") is not None else "–",
                ]
                for r in rows
            ],
        ),
    ]


def budget(found: dict[str, Results]) -> list[str]:
    name = next((n for n in found if n.startswith("budget-")), None)
    if not name:
        return []
    run = found[name]
    raw = run["raw_events"]
    return [
        f"**CPU budget** (`python -m bench.budget`), {_n(raw)} events at {_n(run['sent_rate'])} ev/s:",
        "",
        *_table(
            ["process", "at rest before %", "under load %", "at rest after %", "µs per event"],
            [
                [
                    p,
                    str(b["rest_before"]),
                    str(b["load"]),
                    str(b["rest_after"] if b["rest_after"] is not None else "–"),
                    _n(b["us"]),
                ]
                for p, b in run["budget"].items()
            ],
        ),
        "",
        *_table(
            ["sink", "records", "per raw event"],
            [[sink, _n(n), f"{n / raw:.3f}" if raw else "–"] for sink, n in run["writes"].items()],
        ),
    ]


def flink_stage(found: dict[str, Results]) -> list[str]:
    stage = found.get("flink-stage")
    if not stage:
        return []
    duckdb = stage["runs"][0]["events_per_s"]
    return [
        f"**Flink stage** (`python -m bench.flink_stage`), {_n(stage['events'])} pre-filled events, "
        f"plan version {stage['plan_version']}:",
        "",
        *_table(
            ["run", "s", "events/s", "DuckDB / this"],
            [
                [
                    r["name"],
                    f"{r['seconds']:.1f}",
                    _n(r["events_per_s"]),
                    f"{duckdb / r['events_per_s']:.1f}×",
                ]
                for r in stage["runs"]
            ],
        ),
    ]


def others(found: dict[str, Results]) -> list[str]:
    lines = []
    if gen := found.get("generator"):
        lines.append(
            f"- **Generator** (`python -m bench.generator --kafka`): {_n(gen['count'])} events built at "
            f"{gen['build_cpu_us']} µs of CPU each, sent at {_n(gen.get('produced_ev_s', 0))} ev/s, "
            f"{gen.get('send_cpu_us', '–')} µs of CPU each."
        )
    if start := found.get("startup"):
        figures = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in start["seconds"].items())
        lines.append(f"- **Start-up** (`python -m bench.startup`), to the first served metric: {figures}.")
    if latency := found.get("api-latency"):
        worst = max(latency.values(), key=lambda r: r["cpu_us_per_request"] or 0)
        health = latency.get("health", {})
        lines.append(
            f"- **API, one connection** (`python -m bench.api_latency`): CPU per request "
            f"{health.get('cpu_us_per_request', '–')} µs on `/health`, up to "
            f"{worst['cpu_us_per_request']} µs on a metric route; p99 up to "
            f"{max(r['p99_ms'] for r in latency.values())} ms."
        )
    if cost := found.get("api-cost"):
        routes = [r for r in cost["routes"] if r["route"].startswith("/metrics/")]
        if routes:
            lines.append(
                "- **API, in process** (`python -m bench.api_cost`), CPU per cached metric answer: "
                f"{min(r['computed_us'] for r in routes):.0f}–{max(r['computed_us'] for r in routes):.0f} µs "
                "computed from the query cache, "
                f"{min(r['response_cache_us'] for r in routes):.0f}–"
                f"{max(r['response_cache_us'] for r in routes):.0f} µs answered whole by the response cache."
            )
    return lines


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and (m := re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())):
        cpu = m.group(1).strip()
    memory = ""
    if (meminfo := Path("/proc/meminfo")).exists() and (
        m := re.search(r"MemTotal:\s*(\d+)", meminfo.read_text())
    ):
        memory = f", {int(m.group(1)) / 1024**2:.0f} GiB"
    return f"{os.cpu_count()} cores ({cpu}){memory}, {platform.system()} {platform.release()}"


def commit() -> str:
    """The commit `make bench` ran (the marker holds it), else HEAD now."""
    if MARKER.exists() and (written := MARKER.read_text().strip()):
        return written
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


SECTIONS: tuple[Callable[[dict[str, Results]], list[str]], ...] = (
    throughput,
    flink_stage,
    sustained,
    at_rest,
    api_load,
    budget,
    others,
)


def render(found: dict[str, Results], started: datetime, where: str, revision: str) -> str:
    lines = [
        BEGIN,
        "## Latest `make bench` run",
        "",
        f"Started {started:%Y-%m-%d %H:%M} UTC at commit `{revision}`; {where}. Each figure below comes from "
        "the JSON its benchmark wrote in that run (bench/results/); the numbered sections after this one "
        "hold the earlier runs, the changes and the profiles.",
        "",
        "### Issue 16's targets",
        "",
        *targets(found),
    ]
    for section in SECTIONS:
        if body := section(found):
            lines += ["", *body]
    return "\n".join([*lines, "", END])


def write(docs: Path, block: str) -> None:
    text = docs.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block
    docs.write_text(text if text.endswith("\n") else text + "\n")


def main(
    docs: Annotated[Path, typer.Option(help="The Markdown file to write the section into.")] = DOCS,
) -> None:
    since = MARKER.stat().st_mtime if MARKER.exists() else None
    found = load(RESULTS, since)
    if not found:
        raise typer.BadParameter(f"no results in {RESULTS} since `make bench` started")
    started = datetime.fromtimestamp(since, UTC) if since else datetime.now(UTC)
    write(docs, render(found, started, machine(), commit()))
    print(f"wrote the results of {len(found)} benchmarks ({', '.join(found)}) into {docs}")


if __name__ == "__main__":
    typer.run(main)
