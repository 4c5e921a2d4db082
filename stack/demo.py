"""`make demo`, after `rta up`: start the API and the generator, wait for the first served minute,
then print what a user can open and run."""

from __future__ import annotations

import httpx
from rich.console import Console
from tenacity import RetryError, Retrying, retry_if_result, stop_after_delay, wait_fixed

from core.settings import Settings, get_settings
from stack.apps import start_api, start_generator
from stack.process import Supervisor, SupervisorError

console = Console()


def curl_lines(settings: Settings) -> list[str]:
    api = settings.api_url
    return [
        f"curl -s '{api}/ready'",
        f"curl -s '{api}/metrics/active-users?from=-15m'",
        f"curl -s '{api}/metrics/active-users?from=-1d&granularity=hour&tz=Europe/Paris&device_type=mobile'",
        f"curl -s '{api}/metrics/products?from=-1h&sort=revenue&limit=5&compare=previous_period'",
        f"curl -s '{api}/metrics/revenue?from=-30m'",
        f"curl -s '{api}/metrics/funnel?from=-1h&breakdown=device_type'",
        f"curl -s '{api}/metrics/sessions?from=-15m&sort=revenue&limit=3'",
        f"curl -s '{api}/metrics/data-quality?from=-15m'",
        f"curl -s '{api}/metrics/summary?from=-1h&compare=previous_period'",
        f"curl -s '{api}/metrics/dead-letters?from=-1h&limit=3'",
    ]


def _first_minute_served(settings: Settings) -> bool:
    try:
        r = httpx.get(f"{settings.api_url}/metrics/active-users", params={"from": "-5m"}, timeout=5.0)
        return r.status_code == 200 and any(p["events"] for p in r.json()["data"])
    except httpx.HTTPError:
        return False


def main() -> None:
    settings = get_settings()
    supervisor = Supervisor(settings.run_dir)
    try:
        start_api(settings, supervisor)
        dashboard = f"{settings.api_url}/dashboard"
        console.print(f"[bold]Dashboard: {dashboard}[/bold] (fills in as the first minute is served)")
        start_generator(settings, supervisor)
    except (SupervisorError, RuntimeError, httpx.HTTPError) as exc:
        console.print(
            f"[red]{exc}[/red]\nlogs: .venv/bin/rta logs api | generator | supervisor", markup=False
        )
        raise SystemExit(1) from exc
    try:
        Retrying(stop=stop_after_delay(120), wait=wait_fixed(1), retry=retry_if_result(lambda ok: not ok))(
            _first_minute_served, settings
        )
    except RetryError:
        console.print(
            "[yellow]no events of the last 5 minutes served yet: the pipeline may still be catching up on a"
            " backlog (Flink dashboard), or the generator failed (`rta logs generator`)[/yellow]"
        )
    console.rule("[bold]rta: real-time analytics is live")
    console.print(f"  [bold]Dashboard            {dashboard}[/bold]")
    console.print(f"  API docs (OpenAPI)   {settings.api_url}/docs")
    console.print(f"  Flink dashboard      {settings.flink_rest_url}")
    console.print(f"  Pinot console        {settings.pinot_controller_url}")
    console.print(f"  Kafka bootstrap      {settings.kafka_bootstrap}")
    console.print(f"\nThe generator sends {settings.demo_rate:g} events/s. Try:")
    for line in curl_lines(settings):
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    console.print(
        f"  curl -sN '{settings.api_url}/metrics/stream'   # the live push (Server-Sent Events), Ctrl-C",
        highlight=False,
        soft_wrap=True,
    )
    console.print("\nStatus: .venv/bin/rta status    Logs: .venv/bin/rta logs api    Stop: make down")


if __name__ == "__main__":
    main()
