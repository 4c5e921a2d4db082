"""The README's examples, as data: its curl lines for the API, and its sample responses."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from typing import Any

import httpx
import orjson
from pydantic import BaseModel

from toolchain.versions import REPO_ROOT

README = REPO_ROOT / "README.md"
DEMO_API = "http://127.0.0.1:8000"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def api_curl_lines() -> list[str]:
    return [
        line.strip()
        for block in _blocks("bash")
        for line in block.splitlines()
        if line.strip().startswith("curl ") and DEMO_API in line
    ]


def json_samples() -> list[tuple[str, Any]]:
    """(response model name, sample) for each JSON block marked `<!-- shape: Model -->`."""
    found = re.findall(r"<!-- shape: (\w+) -->\n```json\n(.*?)```", README.read_text(), flags=re.S)
    return [(name, orjson.loads(text)) for name, text in found]


def run_curl(line: str, api_url: str) -> tuple[int, Any]:
    """Run one README curl line against `api_url` (curl itself when installed); (status, JSON body)."""
    argv = shlex.split(line.replace(DEMO_API, api_url))
    url = next(a for a in argv if a.startswith("http"))
    if shutil.which("curl"):
        out = subprocess.run([*argv, "-w", "\n%{http_code}"], capture_output=True, check=True, timeout=60)
        body, _, status = out.stdout.rpartition(b"\n")
        return int(status), orjson.loads(body)
    r = httpx.get(url, timeout=60)
    return r.status_code, r.json()


def assert_shape(body: Any, model: type[BaseModel]) -> None:
    """`body` has exactly the model's (serialised) keys and validates against it."""
    fields = {f.serialization_alias or name for name, f in model.model_fields.items()}
    assert set(body) == fields, (model.__name__, sorted(set(body) ^ fields))
    model.model_validate(body)
