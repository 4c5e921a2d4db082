"""Thin runner: submits Flink SQL statement sets to the session cluster, with connector options filled in.

SQL files describe *what* a job computes; this module decides *where* it reads and writes (topics,
bootstrap servers, consumer groups), so tests can point the same SQL at fresh topics.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from core.settings import Settings
from toolchain import paths
from toolchain.java import find_java_home

TERMINAL_STATES = {"FINISHED", "FAILED", "CANCELED", "SUSPENDED"}


def job_jars() -> list[str]:
    """Jars shipped with every job: the Kafka connector and the pipeline's own functions."""
    jars = []
    for component in ("flink-connectors", "udf"):
        found = sorted(paths.lib_dir(component).glob("*.jar"))
        if not found:
            raise RuntimeError(f"no {component} jars in {paths.lib_dir(component)}; run `make setup`")
        jars += found
    return [jar.as_uri() for jar in jars]


def with_clause(options: Mapping[str, str]) -> str:
    """Render a DDL WITH (...) clause; values are quoted SQL string literals."""

    def quote(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    return "WITH (\n" + ",\n".join(f"  {quote(k)} = {quote(v)}" for k, v in options.items()) + "\n)"


def kafka_source_options(settings: Settings, topic: str, group_id: str, **extra: str) -> dict[str, str]:
    return {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        "properties.group.id": group_id,
        "properties.isolation.level": "read_committed",
        # Go on from the offsets the group committed at its last checkpoint (a job restarted without
        # its state does not replay what was already delivered), or from the start for a new group.
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        **extra,
    }


def kafka_sink_options(settings: Settings, topic: str, **extra: str) -> dict[str, str]:
    return {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": settings.kafka_bootstrap,
        **extra,
    }


def table_environment(settings: Settings, job_name: str, config: Mapping[str, str] | None = None) -> Any:
    """A streaming TableEnvironment whose jobs go to the session cluster (not a local MiniCluster)."""
    # PyFlink's client JVM must be the same JDK as the cluster; never a newer one found on PATH.
    os.environ["JAVA_HOME"] = str(find_java_home())
    from pyflink.common import Configuration
    from pyflink.table import EnvironmentSettings, TableEnvironment

    conf = Configuration()
    for key, value in {
        "execution.target": "remote",
        "rest.address": settings.flink_host or settings.host,
        "rest.port": str(settings.port(settings.flink_rest_port)),
        "pipeline.jars": ";".join(job_jars()),
        "pipeline.name": job_name,
        **(config or {}),
    }.items():
        conf.set_string(key, value)
    env_settings = EnvironmentSettings.new_instance().in_streaming_mode().with_configuration(conf).build()
    return TableEnvironment.create(env_settings)


def java_zone_problem(zone: str) -> str | None:
    """Why java.time (the JDK the job runs on) cannot use `zone`, or None when it can. Asked of the
    PyFlink client's JVM, which is the cluster's JDK (find_java_home)."""
    os.environ["JAVA_HOME"] = str(find_java_home())
    from py4j.protocol import Py4JJavaError
    from pyflink.java_gateway import get_gateway

    try:
        get_gateway().jvm.java.time.ZoneId.of(zone)
    except Py4JJavaError as exc:
        return str(exc.java_exception.getMessage())
    return None


_VIEW = re.compile(r"^\s*(?:--[^\n]*\n\s*)*CREATE\s+TEMPORARY\s+VIEW\s+(\w+)\s+AS\s+(.+)$", re.I | re.S)


def view_definition(statement: str) -> tuple[str, str] | None:
    """(name, query) of a `CREATE TEMPORARY VIEW name AS query` statement (leading comments allowed);
    None for any other statement, a view with a column list included."""
    found = _VIEW.match(statement)
    return (found.group(1), found.group(2)) if found else None


def run_ddl(t_env: Any, ddl: Iterable[str], shared_views: bool = True) -> None:
    """Run the DDL; each view becomes a Table API view of its query (`create_temporary_view`).

    A view made from SQL text is expanded again into every INSERT that reads it, and each INSERT then
    pushes its own projection into it, so the planner no longer sees one sub-plan to share: the job had
    one deduplication and one late flag per INSERT, nine of each. A view made from the query's Table is
    one operation that every INSERT shares, planned once (docs/benchmarks.md, section 9).
    `shared_views=False` runs the views as SQL text, the graph of jobs from before (PLAN_VERSION 1).
    """
    for statement in ddl:
        view = view_definition(statement) if shared_views else None
        if view is None:
            t_env.execute_sql(statement)
        else:
            name, query = view
            t_env.create_temporary_view(name, t_env.sql_query(query))


def submit(
    settings: Settings,
    job_name: str,
    ddl: Iterable[str],
    inserts: Iterable[str],
    config: Mapping[str, str] | None = None,
    shared_views: bool = True,
) -> str:
    """Run the DDL (`run_ddl`), submit all INSERTs as one statement set (one Flink job); returns the
    job id."""
    t_env = table_environment(settings, job_name, config)
    run_ddl(t_env, ddl, shared_views)
    statement_set = t_env.create_statement_set()
    for insert in inserts:
        statement_set.add_insert_sql(insert)
    result = statement_set.execute()
    return str(result.get_job_client().get_job_id())


class FlinkRest:
    """The few Flink REST calls the product needs (job listing, state, cancel)."""

    def __init__(self, settings: Settings) -> None:
        self._client = httpx.Client(base_url=settings.flink_rest_url, timeout=10.0)

    def __enter__(self) -> FlinkRest:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def jobs(self) -> list[dict[str, Any]]:
        r = self._client.get("/jobs/overview")
        r.raise_for_status()
        jobs: list[dict[str, Any]] = r.json()["jobs"]
        return jobs

    def job(self, job_id: str) -> dict[str, Any]:
        r = self._client.get(f"/jobs/{job_id}")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        """Checkpoint statistics: counts (completed, restored, failed...) and the latest of each kind."""
        r = self._client.get(f"/jobs/{job_id}/checkpoints")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def checkpoint_config(self, job_id: str) -> dict[str, Any]:
        """How the job checkpoints: interval, mode, `state_backend` (the class name), storage..."""
        r = self._client.get(f"/jobs/{job_id}/checkpoints/config")
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def state(self, job_id: str) -> str:
        return str(self.job(job_id)["state"])

    def cancel(self, job_id: str) -> None:
        r = self._client.patch(f"/jobs/{job_id}", params={"mode": "cancel"})
        if r.status_code not in (202, 404):
            r.raise_for_status()
