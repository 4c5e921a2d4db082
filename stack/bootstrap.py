"""Idempotent, cached set-up: virtualenv with the project, the engines' jars from Maven Central, the
dashboard's libraries from npm.

Run as `python3 -m stack.bootstrap` (what `make setup` does; `--browser` also installs Chromium for the
browser tests, what `make test` does). Standard library only: it runs before
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

from toolchain import paths
from toolchain.java import JavaNotFoundError, find_java_home
from toolchain.versions import REPO_ROOT, versions

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


DASHBOARD_DIR = REPO_ROOT / "api" / "dashboard"
BROWSER = (Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"))
BROWSER_PACKAGES = ("chromium", "chromium-driver")  # Debian's; a browser a tool downloads can't be fetched


def ensure_dashboard_assets() -> None:
    """The dashboard's front-end libraries, `npm ci` from api/dashboard/package-lock.json (pinned, with
    integrity hashes); served by the API from node_modules, so the page needs no network at run time."""
    lock = DASHBOARD_DIR / "package-lock.json"
    stamp = DASHBOARD_DIR / "node_modules" / ".rta-installed"
    digest = _digest(lock)
    if _stamp_ok(stamp, digest):
        _log(f"dashboard libraries up to date ({stamp.parent})")
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("[setup] npm is not on PATH; install Node.js 18+ with npm (Debian: apt-get install npm).")
    _log("installing the dashboard's libraries from the npm registry (npm ci)")
    subprocess.run(
        [npm, "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=DASHBOARD_DIR,
        check=True,
    )
    stamp.write_text(digest + "\n")


def ensure_browser() -> None:
    """Debian's Chromium and ChromeDriver for the browser tests, installed with apt-get when missing."""
    if all(p.exists() for p in BROWSER):
        _log(f"browser present ({', '.join(map(str, BROWSER))})")
        return
    apt = shutil.which("apt-get")
    install = ["install", "-y", "--no-install-recommends", *BROWSER_PACKAGES]
    if apt is None:
        wanted = " and ".join(map(str, BROWSER))
        sys.exit(f"[setup] the browser tests need {wanted} (Debian packages: {' '.join(BROWSER_PACKAGES)}).")
    if os.geteuid() != 0:
        sys.exit(f"[setup] the browser tests need Chromium; run as root: apt-get {' '.join(install)}")
    _log(f"installing {' '.join(BROWSER_PACKAGES)} with apt-get (first time: a minute or two)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run([apt, *install], env=env, check=False).returncode != 0:
        subprocess.run([apt, "update"], env=env, check=True)  # a stale package index names old versions
        subprocess.run([apt, *install], env=env, check=True)


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
    ensure_dashboard_assets()
    if "--browser" in sys.argv[1:]:
        ensure_browser()
    _log(f"done in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
