"""Load tools the benchmarks drive, fetched on first use into the download cache (`make bench` only;
the product and its tests do not need them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from toolchain.paths import cache_dir

# tsenart/vegeta: an open-model HTTP load generator. It sends at the set rate whatever the answers' latency
# (a slow answer cannot hold back the next request, so the latency it reports is not flattered by
# coordinated omission), and spaces the requests evenly rather than in bursts.
VEGETA_MODULE, VEGETA_VERSION = "github.com/tsenart/vegeta/v12", "v12.13.0"


def ensure_vegeta() -> Path:
    """The pinned `vegeta` binary, built with the machine's Go toolchain the first time."""
    target = cache_dir() / "bin" / f"vegeta-{VEGETA_VERSION}"
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise SystemExit(
            "bench: the API load test drives `vegeta`, built from source with Go; install Go "
            "(Debian: apt-get install golang) or put a vegeta binary at " + str(target)
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        env = {**os.environ, "GOBIN": scratch, "GOFLAGS": "-mod=mod"}
        subprocess.run([go, "install", f"{VEGETA_MODULE}@{VEGETA_VERSION}"], check=True, env=env)
        (Path(scratch) / "vegeta").rename(target)  # complete or absent, never half-written
    return target
