"""The real local stack (Kafka, Flink, Pinot), started once per test session on shifted ports.

It runs beside a demo stack (ports + RTA_TEST_PORT_OFFSET, default 10000) in its own run folder.
RTA_TEST_KEEP_STACK=1 leaves it running after the session (and reuses it next time).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from stack.manager import Stack
from toolchain.versions import REPO_ROOT

TEST_RUN_DIR = REPO_ROOT / ".run" / "test-stack"


def test_settings() -> Settings:
    return Settings(port_offset=int(os.environ.get("RTA_TEST_PORT_OFFSET", "10000")), run_dir=TEST_RUN_DIR)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    settings = test_settings()
    stack = Stack(settings)
    keep = os.environ.get("RTA_TEST_KEEP_STACK") == "1"
    if not keep and not any(st.running for st in stack.status()):
        shutil.rmtree(TEST_RUN_DIR, ignore_errors=True)  # every session starts from empty engines
    stack.up()
    yield stack
    if not keep:
        stack.down()
        leftovers = [p for st in stack.status() for p, r in st.processes.items() if r is not None]
        assert not leftovers, f"processes still running after down: {leftovers}"


@pytest.fixture(scope="session")
def settings(stack: Stack) -> Settings:
    return stack.settings
