"""Shared by every test directory."""

from __future__ import annotations

import pytest

# The helpers' own asserts (e2e.assert_pinot_serves, api_checks.assert_api_serves...) explain a failure
# as a test's asserts do.
pytest.register_assert_rewrite("tests.support")
