"""The Flink job's Java checker (flink_jobs/udf, `rta.udf.ContractCheck`) as a Python callable, for
the differential tests: one JVM per test session, one JSON line per payload over a pipe."""

from __future__ import annotations

import base64
import json
import subprocess
from dataclasses import dataclass
from typing import Any

from stack.engines.flink import flink_home
from toolchain import paths
from toolchain.java import find_java_home


@dataclass(frozen=True)
class JavaVerdict:
    code: str | None
    field: str | None
    reason: str | None
    values: dict[str, Any] | None
    dead_letter_payload: str | None
    dead_letter_encoding: str | None


class JavaContract:
    """`check(payload, record_timestamp, naive_zone)` answered by the jar `make setup` built."""

    def __init__(self) -> None:
        jars = sorted(paths.lib_dir("udf").glob("*.jar"))
        if not jars:
            raise RuntimeError(f"no udf jar in {paths.lib_dir('udf')}; run `make setup`")
        # The checker needs only Flink's shaded Jackson, which flink-dist carries.
        classpath = [*jars, *sorted((flink_home() / "lib").glob("flink-dist-*.jar"))]
        self._process = subprocess.Popen(
            [
                str(find_java_home() / "bin" / "java"),
                "-Xss4m",
                "-cp",
                ":".join(str(j) for j in classpath),
                "rta.udf.ContractCheck",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def check(
        self,
        payload: bytes | None,
        record_timestamp: int | None = None,
        naive_zone: str = "UTC",
        max_lateness_ms: int = 3_600_000,
        max_future_ms: int = 300_000,
    ) -> JavaVerdict:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        request = {
            "payload_b64": None if payload is None else base64.b64encode(payload).decode(),
            "record_timestamp": record_timestamp,
            "naive_zone": naive_zone,
            "max_lateness_ms": max_lateness_ms,
            "max_future_ms": max_future_ms,
        }
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Java checker exited with {self._process.wait()}")
        answer = json.loads(line)
        return JavaVerdict(**answer)

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=10)
