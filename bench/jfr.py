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
    """Java Flight Recorder on one JVM: started `after_s` after `start()`, stopped `seconds` later or at
    `hottest()`, whichever comes first (`jcmd JFR.start` / `JFR.stop` by name, each waited for)."""

    def __init__(self, pid: int, after_s: float, seconds: float, path: Path) -> None:
        self.pid, self.path = pid, path
        self.name = f"rta-bench-{time.time_ns()}"
        self._lock = threading.Lock()
        self._state = "waiting"  # -> "recording" -> "stopped"
        self._timers = [
            threading.Timer(after_s, self._start),
            threading.Timer(after_s + seconds, self._stop),
        ]
        for timer in self._timers:
            timer.daemon = True

    def start(self) -> None:
        for timer in self._timers:
            timer.start()

    def _jcmd(self, *command: str) -> None:
        jcmd = str(find_java_home() / "bin" / "jcmd")
        subprocess.run([jcmd, str(self.pid), *command], check=True, capture_output=True, timeout=60)

    def _start(self) -> None:
        with self._lock:
            if self._state == "waiting":
                try:
                    self._jcmd("JFR.start", f"name={self.name}", "settings=profile")
                    self._state = "recording"
                except (subprocess.SubprocessError, OSError):
                    self._state = "stopped"  # no profile this time; the benchmark goes on

    def _stop(self) -> None:
        with self._lock:
            if self._state == "recording":
                self._jcmd("JFR.stop", f"name={self.name}", f"filename={self.path}")
            self._state = "stopped"

    def hottest(self, top: int = 12) -> dict[str, list[tuple[str, float]]]:
        """Stop the recording (if it still runs) and give the shares of its execution samples (%) by
        thread and by the method on top of the stack; {} if it never started or could not be read: a
        profile is an aid to the benchmark, never a reason to lose its figures."""
        for timer in self._timers:
            timer.cancel()
        try:
            self._stop()
            if not self.path.exists():
                return {}
            printed = subprocess.run(
                [
                    str(find_java_home() / "bin" / "jfr"),
                    "print",
                    "--json",
                    "--events",
                    "jdk.ExecutionSample",
                    str(self.path),
                ],
                check=True,
                capture_output=True,
                timeout=300,
            ).stdout
            samples = json.loads(printed)["recording"]["events"]
        except (subprocess.SubprocessError, OSError, ValueError, KeyError):
            return {}
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
