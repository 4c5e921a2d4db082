"""Unit tests see the defaults, not the developer's RTA_* environment or .env file."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.settings import Settings, get_settings


@pytest.fixture(autouse=True)
def _default_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in os.environ if n.startswith("RTA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
