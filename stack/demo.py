"""Print what a user can open and run once the stack is up (`make demo`)."""

from __future__ import annotations

from rich.console import Console

from core.settings import get_settings


def main() -> None:
    s = get_settings()
    console = Console()
    console.rule("[bold]rta: real-time analytics stack is up")
    console.print(f"  Flink dashboard      {s.flink_rest_url}")
    console.print(f"  Pinot console        {s.pinot_controller_url}")
    console.print(f"  Kafka bootstrap      {s.kafka_bootstrap}")
    console.print("\nTry:")
    console.print(f"  curl -s {s.flink_rest_url}/overview")
    console.print(f"  curl -s {s.pinot_controller_url}/instances")
    console.print(
        f"  curl -s -X POST {s.pinot_broker_url}/query/sql -H 'Content-Type: application/json' "
        '-d \'{"sql": "SELECT 1"}\''
    )
    console.print("\nStatus: .venv/bin/rta status    Logs: .venv/bin/rta logs kafka    Stop: make down")


if __name__ == "__main__":
    main()
