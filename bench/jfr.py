"""Java Flight Recorder on one of the stack's JVMs, summarised: where its CPU samples fall, by thread and
by the method on top of the stack (`jcmd <pid> JFR.start settings=profile`, then `jfr print --json`)."""

from __future__ import annotations

import collections
import json
import subprocess
import threading
import time
from pathlib import Path

from toolchain.java import find_java_home


class Recording:
    """Java Flight Recorder on one JVM, from `after_s` into the run for `seconds` (`jcmd JFR.start`)."""

    def __init__(self, pid: int, after_s: float, seconds: float, path: Path) -> None:
        self.pid, self.seconds, self.path = pid, seconds, path
        self._timer = threading.Timer(after_s, self._start)
        self.ends_at: float | None = None

    def start(self) -> None:
        self._timer.start()

    def _start(self) -> None:
        command = [str(find_java_home() / "bin" / "jcmd"), str(self.pid), "JFR.start", "settings=profile"]
        command += [f"duration={self.seconds:.0f}s", f"filename={self.path}"]
        subprocess.run(command, check=True, capture_output=True)
        self.ends_at = time.monotonic() + self.seconds

    def hottest(self, top: int = 12) -> dict[str, list[tuple[str, float]]]:
        """Shares of the execution samples (%) by thread and by the method on top of the stack; {} if
        the recording never started."""
        self._timer.cancel()
        if self.ends_at is None:
            return {}
        deadline, size = self.ends_at + 120, -1
        while time.monotonic() < self.ends_at or not self.path.exists() or self.path.stat().st_size != size:
            if time.monotonic() > deadline:
                return {}
            size = self.path.stat().st_size if self.path.exists() else -1
            time.sleep(1.0)  # polling: JFR writes the file when its duration ends; done once it stops growing
        printed = subprocess.run(
            [
                find_java_home() / "bin" / "jfr",
                "print",
                "--json",
                "--events",
                "jdk.ExecutionSample",
                self.path,
            ],
            check=True,
            capture_output=True,
        ).stdout
        samples = json.loads(printed)["recording"]["events"]
        threads: collections.Counter[str] = collections.Counter()
        frames: collections.Counter[str] = collections.Counter()
        for sample in samples:
            values = sample["values"]
            threads[(values.get("sampledThread") or {}).get("javaName") or "?"] += 1
            if stack := (values.get("stackTrace") or {}).get("frames"):
                method = stack[0]["method"]
                frames[f"{method['type']['name']}.{method['name']}"] += 1
        total = max(1, len(samples))
        return {
            f"threads ({len(samples)} samples)": [
                (n, round(100 * c / total, 1)) for n, c in threads.most_common(top)
            ],
            "top frames": [(n, round(100 * c / total, 1)) for n, c in frames.most_common(top)],
        }
