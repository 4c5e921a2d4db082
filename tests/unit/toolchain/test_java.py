from pathlib import Path

import pytest

from toolchain.java import JavaNotFoundError, find_java_home


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(f'JAVA_VERSION="{version}"\n')
    return home


def test_explicit_home_of_the_pinned_major_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _fake_jdk(tmp_path, "jdk17", "17.0.9")
    monkeypatch.setenv("RTA_JAVA_HOME", str(home))
    assert find_java_home() == home.resolve()


def test_explicit_home_of_another_major_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RTA_JAVA_HOME", str(_fake_jdk(tmp_path, "jdk25", "25.0.1")))
    with pytest.raises(JavaNotFoundError, match="not a JDK 17"):
        find_java_home()


def test_newer_java_home_is_skipped_for_an_installed_17(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RTA_JAVA_HOME", raising=False)
    monkeypatch.setenv("JAVA_HOME", str(_fake_jdk(tmp_path, "jdk25", "25.0.1")))
    found = find_java_home()
    assert (found / "release").read_text().count('JAVA_VERSION="17') == 1
