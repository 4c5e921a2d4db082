from __future__ import annotations

import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib.metadata import version

import httpx
from fastapi import APIRouter, Request, Response
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from api.deps import SettingsDep
from api.schemas import Check, Health, Readiness
from core.generations import Generation
from core.settings import Settings
from query.serving import ServedTables

router = APIRouter(tags=["health"])
# read once: importlib.metadata parses the installed metadata on every call (about 0.2 ms)
VERSION = version("rta")


@router.get("/health")
async def health() -> Health:
    """The API process is up (it does not look at the engines; see /ready)."""
    return Health(status="ok", version=VERSION)


def _kafka(settings: Settings) -> Check:
    host, _, port = settings.kafka_bootstrap.rpartition(":")
    try:  # fail fast: the admin client would retry an absent broker for half a minute
        socket.create_connection((host, int(port)), timeout=2.0).close()
    except OSError as exc:
        return Check(ok=False, detail=f"Kafka at {settings.kafka_bootstrap} unreachable: {exc}")
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=3000)
        try:
            count = len(admin.list_topics())
        finally:
            admin.close()
    except (KafkaError, OSError) as exc:
        return Check(ok=False, detail=f"Kafka at {settings.kafka_bootstrap} unreachable: {exc}")
    return Check(ok=True, detail=f"{count} topics at {settings.kafka_bootstrap}")


def _pinot(settings: Settings) -> Check:
    try:
        r = httpx.get(f"{settings.pinot_broker_url}/health", timeout=3.0)
    except httpx.HTTPError as exc:
        return Check(ok=False, detail=f"Pinot broker at {settings.pinot_broker_url} unreachable: {exc}")
    return Check(ok=r.status_code == 200, detail=f"broker /health: HTTP {r.status_code} {r.text[:80]}")


def _flink(settings: Settings, job_name: str) -> Check:
    try:
        r = httpx.get(f"{settings.flink_rest_url}/jobs/overview", timeout=3.0)
        r.raise_for_status()
    except httpx.HTTPError as exc:
        return Check(ok=False, detail=f"Flink at {settings.flink_rest_url} unreachable: {exc}")
    states = [j["state"] for j in r.json()["jobs"] if j["name"] == job_name]
    ok = "RUNNING" in states
    return Check(
        ok=ok, detail=f"{job_name}: {'RUNNING' if ok else (states[-1] if states else 'not submitted')}"
    )


@router.get(
    "/ready", responses={503: {"model": Readiness, "description": "an engine or the job is not ready"}}
)
def ready(settings: SettingsDep, request: Request, response: Response) -> Readiness:
    """Kafka, the Pinot broker and the Flink pipeline job are reachable and running (503 if not)."""
    served: ServedTables = request.app.state.tables
    job_name = (served.generation or Generation(0)).job_name  # the job writing what is served
    probes: dict[str, Callable[[Settings], Check]] = {
        "kafka": _kafka,
        "pinot": _pinot,
        "flink": partial(_flink, job_name=job_name),
    }
    with ThreadPoolExecutor(max_workers=len(probes)) as pool:
        futures = {name: pool.submit(probe, settings) for name, probe in probes.items()}
        checks = {name: f.result() for name, f in futures.items()}
    result = Readiness(ready=all(c.ok for c in checks.values()), checks=checks)
    if not result.ready:
        response.status_code = 503
    return result
