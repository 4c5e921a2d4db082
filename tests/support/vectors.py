"""The event contract's shared vectors (tests/vectors/event_contract.jsonl), read the way every runtime
reads them: raw payload bytes, optional record timestamp and naive zone, the expected verdict."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from tests.vectors.build_event_contract import OUT as VECTORS_FILE


@dataclass(frozen=True)
class Vector:
    name: str
    payload: bytes | None
    record_timestamp: int | None
    naive_zone: str
    code: str | None
    field: str | None
    values: dict[str, Any]


def load() -> list[Vector]:
    out = []
    for line in VECTORS_FILE.read_text().splitlines():
        if not line.strip():
            continue
        v = json.loads(line)
        if "payload" in v:
            payload: bytes | None = v["payload"].encode("utf-8", "surrogatepass")
        else:
            payload = None if v["payload_b64"] is None else base64.b64decode(v["payload_b64"])
        expect = v["expect"]
        out.append(
            Vector(
                name=v["name"],
                payload=payload,
                record_timestamp=v.get("record_timestamp"),
                naive_zone=v.get("naive_zone") or "UTC",
                code=expect["code"],
                field=expect["field"],
                values=expect.get("values") or {},
            )
        )
    return out
