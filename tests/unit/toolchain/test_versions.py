import re
import tomllib

from toolchain.versions import REPO_ROOT, versions


def test_apache_flink_pin_matches_the_engine_version() -> None:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in deps if d.startswith("apache-flink")]
    assert pins == [f"apache-flink=={versions().flink}"]


def test_kafka_connector_is_built_for_the_pinned_flink_minor() -> None:
    flink_minor = ".".join(versions().flink.split(".")[:2])
    assert versions().flink_kafka_connector.endswith(f"-{flink_minor}")


def test_poms_take_every_engine_version_from_pyproject() -> None:
    for pom in (REPO_ROOT / "stack" / "maven").glob("*/pom.xml"):
        text = pom.read_text()
        for artifact in re.findall(r"<dependency>.*?</dependency>", text, re.S):
            version = re.search(r"<version>(.*?)</version>", artifact)
            assert version, f"{pom}: no version in {artifact}"
            assert version.group(1).startswith("${"), f"{pom}: hard-coded version in {artifact}"
