"""Where the stack keeps downloaded engines (shared cache) and per-run data and logs.

Standard library only: the bootstrap imports this before any virtualenv exists.
"""

from __future__ import annotations

import os
from pathlib import Path

from toolchain.versions import REPO_ROOT, versions


def cache_dir() -> Path:
    """Engine jars are cached per user, outside the checkout, so fresh clones and CI reuse them."""
    explicit = os.environ.get("RTA_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "rta"


def lib_dir(component: str) -> Path:
    """Folder holding one engine's jars, named after the pinned version so a bump re-resolves."""
    v = versions()
    suffix = {
        "kafka": f"kafka-{v.kafka}-log4j-{v.log4j}",
        "pinot": f"pinot-{v.pinot}",
        "flink-connectors": f"flink-connectors-{v.flink_kafka_connector}",
        "udf": f"udf-flink-{v.flink}",  # rebuilt when its sources change (bootstrap's stamp)
    }[component]
    return cache_dir() / "lib" / suffix


def maven_project(component: str) -> Path:
    if component == "udf":  # built from this repository's sources, not only resolved
        return REPO_ROOT / "flink_jobs" / "udf"
    return REPO_ROOT / "stack" / "maven" / component


def venv_dir() -> Path:
    return REPO_ROOT / ".venv"
