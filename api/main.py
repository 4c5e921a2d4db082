"""The metrics API: FastAPI over the Pinot tables the pipeline fills. `uvicorn api.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from api import errors
from api.routers import active_users, data_quality, funnel, health, products, revenue, sessions
from core.settings import Settings, get_settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot


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
        description="Real-time e-commerce metrics served from Apache Pinot, computed by Apache Flink. "
        "Every error answers the same shape (`ErrorBody`); a 422 names the parameter in `loc`.",
        lifespan=lifespan,
        redirect_slashes=False,  # `/metrics/products/` is not a product: 404, not a redirect
    )
    for router in (health, active_users, products, sessions, revenue, funnel, data_quality):
        app.include_router(router.router)
    errors.install(app)
    return app


app = create_app()
