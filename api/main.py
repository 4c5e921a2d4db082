"""The metrics API: FastAPI over the Pinot tables the pipeline fills. `uvicorn api.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI

from api import errors
from api.deps import Context
from api.routers import (
    active_users,
    categories,
    customers,
    dashboard,
    data_quality,
    dimensions,
    event_types,
    funnel,
    health,
    kafka,
    live,
    page_views,
    products,
    reference,
    revenue,
    sessions,
    summary,
)
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
        app.state.live = live.make_feeds(Context(app.state.pinot, app.state.tables, settings))
        yield
        await app.state.live.close()
        app.state.pinot.close()

    app = FastAPI(
        title="rta metrics API",
        version=version("rta"),
        description="Real-time e-commerce metrics served from Apache Pinot, computed by Apache Flink. "
        "Every error answers the same shape (`ErrorBody`); a 422 names the parameter in `loc`.",
        lifespan=lifespan,
        redirect_slashes=False,  # `/metrics/products/` is not a product: 404, not a redirect
    )
    for module in (
        *(health, summary, live, active_users, event_types, revenue, products, categories, funnel),
        *(sessions, customers, page_views, data_quality, dimensions, kafka, reference),
    ):
        app.include_router(module.router)
    dashboard.mount(app)
    errors.install(app)
    return app


app = create_app()
