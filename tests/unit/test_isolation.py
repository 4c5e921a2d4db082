"""Unit tests do not depend on the machine they run on."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings, get_settings


def test_settings_ignore_the_developers_environment_and_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The autouse fixture removed RTA_* and .env; a .env in the working directory is still not read.
    (tmp_path / ".env").write_text("RTA_API_PORT=1234\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().api_port == 8000
    assert get_settings().api_port == 8000
