"""The pipeline's Java function compiles against the Jackson that the Flink runtime really ships."""

from __future__ import annotations

import re
import zipfile

from stack.engines.flink import flink_home
from toolchain import paths


def test_pom_uses_the_shaded_jackson_of_flink_dist() -> None:
    dist = next((flink_home() / "lib").glob("flink-dist-*.jar"))
    with zipfile.ZipFile(dist) as jar:
        dependencies = jar.read("META-INF/DEPENDENCIES").decode()
    shipped = re.search(r"org\.apache\.flink:flink-shaded-jackson:jar:([\w.-]+)", dependencies)
    assert shipped is not None
    pom = (paths.maven_project("udf") / "pom.xml").read_text()
    assert f"<flink.shaded.jackson.version>{shipped.group(1)}</flink.shaded.jackson.version>" in pom
