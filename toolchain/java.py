"""Find a JDK of the pinned major version. Flink 2.2 does not run on newer JDKs that may also be installed.

Standard library only: the bootstrap imports this before any virtualenv exists.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from toolchain.versions import versions

_SEARCH_ROOTS = ("/usr/lib/jvm", "/usr/java", "/opt/java", "/Library/Java/JavaVirtualMachines")


class JavaNotFoundError(RuntimeError):
    pass


def _major_version(java_home: Path) -> str | None:
    release = java_home / "release"
    if not release.is_file() or not (java_home / "bin" / "java").is_file():
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(errors="replace"), re.MULTILINE)
    return match.group(1) if match else None


def _candidates() -> list[Path]:
    found: list[Path] = []
    for var in ("RTA_JAVA_HOME", "JAVA_HOME"):
        if os.environ.get(var):
            found.append(Path(os.environ[var]))
    for root in _SEARCH_ROOTS:
        base = Path(root)
        if base.is_dir():
            for child in sorted(base.iterdir()):
                found.append(child / "Contents" / "Home" if (child / "Contents" / "Home").is_dir() else child)
    return found


def find_java_home() -> Path:
    """RTA_JAVA_HOME wins, then JAVA_HOME, then the usual install roots; only the pinned major counts."""
    wanted = versions().java
    explicit = os.environ.get("RTA_JAVA_HOME")
    if explicit and _major_version(Path(explicit)) != wanted:
        raise JavaNotFoundError(f"RTA_JAVA_HOME={explicit} is not a JDK {wanted}")
    seen = []
    for home in _candidates():
        major = _major_version(home)
        seen.append(f"{home} ({major or 'not a JDK'})")
        if major == wanted:
            return home.resolve()
    raise JavaNotFoundError(
        f"No JDK {wanted} found (Kafka 4.1, Flink 2.2 and Pinot need exactly JDK {wanted} here). "
        f"Looked at: {', '.join(seen) or 'nothing'}. "
        f"Install one (Debian: apt-get install openjdk-{wanted}-jdk-headless) or set RTA_JAVA_HOME."
    )
