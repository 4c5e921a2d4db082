"""Every file generated from the registry in core/ (datasets, models, the event contract), in one place.

    rta generate          rewrite them all
    rta generate --check  list the stale ones and fail (CI and `make check` run this)

What is written: the Flink SQL that follows from the models (flink_jobs/sql/generated/: sink DDL, the
parse and deduplication views, the events INSERT), the rule table the Java event checker reads
(event-contract.json), and each dataset's `pinot/<name>/schema.json` + `table.json`.
"""

from __future__ import annotations

from pathlib import Path

from flink_jobs import codegen as flink_codegen
from provisioning import pinot_files
from provisioning.pinot_tables import PINOT_DIR
from toolchain.versions import REPO_ROOT


def stale() -> list[str]:
    """Generated files (repository-relative) that differ from what core/ says; [] when all are fresh."""
    flink = [
        _relative(flink_codegen.GENERATED_DIR / name)
        if name != flink_codegen.CONTRACT_RESOURCE.name
        else _relative(flink_codegen.CONTRACT_RESOURCE)
        for name in flink_codegen.stale_files()
    ]
    pinot = [_relative(PINOT_DIR / name) for name in pinot_files.stale_files()]
    return sorted(flink + pinot)


def write() -> int:
    """Rewrite every generated file; returns how many files were written."""
    flink_codegen.write()
    written = pinot_files.write()
    return len(flink_codegen.render()) + 1 + len(written)


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))
