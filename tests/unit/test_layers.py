"""Imports point down: each package may import only the packages listed under it (README, Layout).

core          nothing of ours: the models, datasets, settings
toolchain     nothing of ours, and only the standard library (the bootstrap runs it before a venv)
provisioning  core, toolchain           (topics, Pinot schemas and tables)
flink_jobs    core, toolchain           (the job's SQL and its runner)
query         core                      (SQL over Pinot, Kafka reads)
event_generator  core, provisioning
api           core, query
stack, bench  anything                  (the launcher and the benchmarks sit on top)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {
    *("core", "toolchain", "provisioning", "flink_jobs", "query", "event_generator", "api"),
    *("stack", "bench"),
}
ALLOWED = {
    "core": set(),
    "toolchain": set(),
    "provisioning": {"core", "toolchain"},
    "flink_jobs": {"core", "toolchain"},
    "query": {"core"},
    "event_generator": {"core", "provisioning"},
    "api": {"core", "query"},
}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def upward_imports(package: str, root: Path = ROOT) -> list[str]:
    allowed = ALLOWED[package] | {package}
    found = []
    for path in sorted((root / package).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            top = module.split(".")[0]
            if top in OURS and top not in allowed:
                found.append(f"{path.relative_to(root)} imports {module}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    assert upward_imports(package) == []


def test_what_the_bootstrap_runs_uses_the_standard_library_only() -> None:
    # `make setup` runs `python3 -m stack.bootstrap` with the system Python, before any virtualenv.
    files = [*sorted((ROOT / "toolchain").rglob("*.py")), ROOT / "stack" / "__init__.py"]
    files.append(ROOT / "stack" / "bootstrap.py")
    outside = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in files
        for module in sorted(imported_modules(path))
        if module.split(".")[0] not in sys.stdlib_module_names | {"toolchain", "__future__"}
    ]
    assert outside == []


def test_the_check_finds_an_upward_import_even_inside_a_function(tmp_path: Path) -> None:
    (tmp_path / "query").mkdir()
    (tmp_path / "query" / "m.py").write_text(
        "import core.settings\n\ndef f():\n    from stack import cli\n    from api.main import app\n"
    )
    assert upward_imports("query", tmp_path) == ["query/m.py imports api.main", "query/m.py imports stack"]
