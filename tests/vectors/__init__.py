"""Test vectors shared by the Python and the Java/Flink sides of a rule (each file says which rule)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).parent


def referrer_vectors() -> list[dict[str, Any]]:
    """`referrer_url` -> `host` by core/referrers.py, one JSON object per line of referrer_host.jsonl."""
    lines = (VECTORS / "referrer_host.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def business_day_vectors() -> list[dict[str, Any]]:
    """(`zone`, `epoch_ms`) -> `date` by core/business_day.py, one JSON object per line of
    business_day.jsonl (written by hand, each checked against the zone's rules; `instant` is epoch_ms)."""
    lines = (VECTORS / "business_day.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
