"""The metrics API: FastAPI over the Pinot tables the pipeline fills. `uvicorn api.main:app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import httpx
import pinotdb.exceptions
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.routers import active_users, data_quality, funnel, health, products, revenue, sessions
from api.timerange import ParamError
from core.settings import Settings, get_settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot
from query.sql import QueryError

log = logging.getLogger("rta.api")
UNAVAILABLE_CODES = {190, 305, 410, 427}  # table missing, segments unavailable, no broker resource, timeout


def create_app(settings: Settings | None = None, tables: Tables | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.tables = tables or Tables()
        cache = QueryCache(settings.api_cache_ttl_s) if settings.api_cache_ttl_s > 0 else None
        app.state.pinot = Pinot(settings, cache=cache)  # one connection pool for all requests
        yield
        app.state.pinot.close()

    app = FastAPI(
        title="rta metrics API",
        version=version("rta"),
        description="Real-time e-commerce metrics served from Apache Pinot, computed by Apache Flink.",
        lifespan=lifespan,
    )
    for router in (health, active_users, products, sessions, revenue, funnel, data_quality):
        app.include_router(router.router)

    @app.exception_handler(ParamError)
    async def bad_param(_: Request, exc: ParamError) -> JSONResponse:
        detail = [{"loc": ["query", exc.param], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(QueryError)
    async def bad_value(_: Request, exc: QueryError) -> JSONResponse:
        return JSONResponse({"detail": f"invalid parameter value: {exc}"}, status_code=422)

    @app.exception_handler(httpx.TransportError)
    async def pinot_unreachable(_: Request, exc: httpx.TransportError) -> JSONResponse:
        log.warning("Pinot broker unreachable: %s", exc)
        return JSONResponse(
            {"detail": f"Pinot broker at {settings.pinot_broker_url} is unreachable ({exc}); retry shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(pinotdb.exceptions.DatabaseError)
    async def pinot_error(_: Request, exc: pinotdb.exceptions.DatabaseError) -> JSONResponse:
        info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        if info.get("errorCode") in UNAVAILABLE_CODES:
            return JSONResponse(
                {"detail": f"Pinot cannot serve this yet: {info.get('message')}; is the stack provisioned?"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        log.error("Pinot rejected a query: %s", exc)
        return JSONResponse({"detail": f"Pinot rejected the query: {exc}"}, status_code=502)

    return app


app = create_app()
