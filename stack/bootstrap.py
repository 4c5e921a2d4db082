"""Idempotent, cached set-up: virtualenv with the project, then the engines' jars from Maven Central.

Run as `python3 -m stack.bootstrap` (what `make setup` does). Standard library only: it runs before
the virtualenv exists. Each step leaves a stamp naming exactly what it installed, so a second run is
a no-op and a version bump in pyproject.toml redoes only the affected step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stack import paths
from stack.java import JavaNotFoundError, find_java_home
from stack.versions import REPO_ROOT, versions

SUPPORTED_PYTHONS = ((3, 11), (3, 12))  # what apache-flink 2.2 ships wheels for


def _log(msg: str) -> None:
    print(f"[setup] {msg}", flush=True)


def _digest(*parts: str | Path) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.read_bytes() if isinstance(part, Path) else part.encode())
    return h.hexdigest()


def _stamp_ok(stamp: Path, digest: str) -> bool:
    return stamp.is_file() and stamp.read_text().strip() == digest


def ensure_venv() -> None:
    venv = paths.venv_dir()
    python = venv / "bin" / "python"
    stamp = venv / ".rta-installed"
    digest = _digest(REPO_ROOT / "pyproject.toml")
    if python.exists() and _stamp_ok(stamp, digest):
        _log(f"virtualenv up to date ({venv})")
        return
    if not python.exists():
        if sys.version_info[:2] not in SUPPORTED_PYTHONS:
            wanted = " or ".join(f"{a}.{b}" for a, b in SUPPORTED_PYTHONS)
            sys.exit(
                f"[setup] Python {sys.version_info.major}.{sys.version_info.minor} cannot install "
                f"apache-flink {versions().flink}; run the set-up with Python {wanted} "
                "(e.g. make PYTHON=python3.11)."
            )
        _log(f"creating virtualenv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    _log("installing the project and its dev tools into the virtualenv (first time: a few minutes)")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]"],
        cwd=REPO_ROOT,
        check=True,
    )
    stamp.write_text(digest + "\n")


def _maven_properties() -> dict[str, str]:
    v = versions()
    return {
        "kafka.version": v.kafka,
        "log4j.version": v.log4j,
        "pinot.version": v.pinot,
        "flink.kafka.connector.version": v.flink_kafka_connector,
    }


def ensure_jars(component: str, java_home: Path) -> None:
    target = paths.lib_dir(component)
    pom = paths.maven_project(component) / "pom.xml"
    props = _maven_properties()
    if component == "udf":
        props["flink.version"] = versions().flink
    sources = sorted(p for p in pom.parent.glob("src/**/*") if p.is_file())
    if component == "udf":  # its tests read the event contract's shared vectors
        sources += sorted((REPO_ROOT / "tests" / "vectors").glob("*"))
    digest = _digest(pom, *sources, repr(sorted(props.items())))
    stamp = target / ".rta-complete"
    if _stamp_ok(stamp, digest):
        _log(f"{component} jars cached ({target})")
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        sys.exit("[setup] Maven (mvn) is not on PATH; install it (Debian: apt-get install maven).")
    _log(f"resolving {component} jars from Maven Central into {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Resolve into a scratch folder and rename at the end: an interrupted run never looks complete.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as scratch:
        out = Path(scratch) / "lib"
        cmd = [
            mvn,
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(pom),
            "package",
            f"-Drta.lib.dir={out}",
            f"-Drta.work.dir={scratch}/work",
        ]
        cmd += [f"-D{k}={val}" for k, val in props.items()]
        env = {**os.environ, "JAVA_HOME": str(java_home)}
        subprocess.run(cmd, check=True, env=env)
        (out / ".rta-complete").write_text(digest + "\n")
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)


def main() -> None:
    started = time.monotonic()
    try:
        java_home = find_java_home()
    except JavaNotFoundError as exc:
        sys.exit(f"[setup] {exc}")
    _log(f"JDK {versions().java}: {java_home}")
    ensure_venv()
    for component in ("kafka", "pinot", "flink-connectors", "udf"):
        ensure_jars(component, java_home)
    _log(f"done in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
