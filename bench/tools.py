"""Load tools the benchmarks drive, fetched on first use into the download cache (`make bench` only;
the product and its tests do not need them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from toolchain.paths import cache_dir

# rakyll/hey: an HTTP load generator with a per-worker rate limit and per-request CSV output.
HEY_MODULE, HEY_VERSION = "github.com/rakyll/hey", "v0.1.4"


def ensure_hey() -> Path:
    """The pinned `hey` binary, built with the machine's Go toolchain the first time."""
    target = cache_dir() / "bin" / f"hey-{HEY_VERSION}"
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise SystemExit(
            "bench: the API load test drives `hey`, built from source with Go; install Go "
            "(Debian: apt-get install golang) or put a hey binary at " + str(target)
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        env = {**os.environ, "GOBIN": scratch, "GOFLAGS": "-mod=mod"}
        subprocess.run([go, "install", f"{HEY_MODULE}@{HEY_VERSION}"], check=True, env=env)
        (Path(scratch) / "hey").rename(target)  # complete or absent, never half-written
    return target
