from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from stack import backfill as backfill_module
from stack import cli


def test_sigterm_stops_a_backfill_the_way_ctrl_c_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service manager stops with SIGTERM, and a shell script's `&` leaves SIGINT ignored: either
    must reach the backfill's clean-up (cancel the half-built job) and end the command with 130."""
    cleaned: list[str] = []

    def backfill(*_: Any, **__: Any) -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # let the handler run here, inside the wait
            raise AssertionError("SIGTERM did not interrupt the backfill")
        except BaseException as exc:
            cleaned.append(type(exc).__name__)
            raise

    monkeypatch.setattr(backfill_module, "backfill", backfill)
    before = signal.getsignal(signal.SIGTERM)
    result = CliRunner().invoke(cli.app, ["backfill"])
    assert cleaned == ["KeyboardInterrupt"]
    assert result.exit_code == 130
    assert "interrupted before the switch" in result.output
    assert signal.getsignal(signal.SIGTERM) == before  # the command leaves the handlers as they were


def test_backfill_from_takes_an_instant_with_its_offset() -> None:
    assert cli._instant("2026-11-30T08:00:00Z") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert cli._instant("2026-11-30T09:00:00+01:00") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert cli._instant(None) is None
    for bad in ("2026-11-30T08:00:00", "yesterday"):
        with pytest.raises(typer.BadParameter):
            cli._instant(bad)
