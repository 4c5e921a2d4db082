"""The dashboard's libraries are pinned: an exact version in package.json, resolved with an integrity hash
in package-lock.json (what `npm ci` in `make setup` installs), and served from the API's own files."""

from __future__ import annotations

import json
import re

from api.routers.dashboard import STATIC, VENDOR
from stack.bootstrap import DASHBOARD_DIR


def test_every_dependency_is_an_exact_version_locked_with_its_integrity() -> None:
    manifest = json.loads((DASHBOARD_DIR / "package.json").read_text())
    lock = json.loads((DASHBOARD_DIR / "package-lock.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), (name, version)  # no ranges
        entry = lock["packages"][f"node_modules/{name}"]
        assert entry["version"] == version
        assert entry["integrity"].startswith("sha512-")


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"(?:src|href)=[\"']?(?:https?:)?//", text), path.name
        assert "cdn" not in text.lower(), path.name
    assert VENDOR.parent.name == "echarts"
