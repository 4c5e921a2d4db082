"""The metrics API: FastAPI over the Pinot tables the pipeline fills. `uvicorn api.main:app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

import anyio.to_thread
from fastapi import FastAPI

from api import errors
from api.alerting import AlertEvaluator
from api.auth import Keys, Scope, scoped
from api.observability import ApiMetrics, PipelineCollector, RequestMetrics
from api.response_cache import ResponseCache
from api.routers import (
    access,
    active_users,
    alerts,
    brands,
    categories,
    customers,
    dashboard,
    data_quality,
    dimensions,
    event_types,
    funnel,
    health,
    kafka,
    landing_pages,
    live,
    page_views,
    products,
    prometheus,
    reference,
    referrers,
    retention,
    revenue,
    sessions,
    summary,
    visits,
)
from core.generations import serving_path
from core.settings import Settings, get_settings
from query.analytics import Tables
from query.cache import QueryCache
from query.pinot import Pinot
from query.serving import ServedTables


def create_app(settings: Settings | None = None, tables: Tables | None = None) -> FastAPI:
    settings = settings or get_settings()
    metrics = ApiMetrics()
    if tables is None and settings.api_tables:
        tables = Tables.named(settings.api_tables)  # fails fast on an unknown dataset
    # fixed tables, or those of the generation the serving record names (core/generations.py)
    served_tables = (
        ServedTables(fixed=tables) if tables else ServedTables(record=serving_path(settings.run_dir))
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.tables = served_tables
        ttl = settings.api_cache_ttl_s
        cache = QueryCache(ttl, on_lookup=metrics.cache_lookup) if ttl > 0 else None
        # one connection pool for all requests
        app.state.pinot = Pinot(settings, cache=cache, observe=metrics.pinot_query)
        if cache is not None and settings.api_response_cache:
            app.state.responses = ResponseCache(on_lookup=metrics.response_cache_lookup)
        app.state.live = live.make_feeds(app.state.pinot, served_tables, settings)
        metrics.watch_live(app.state.live)
        metrics.registry.register(PipelineCollector(settings, app.state.pinot, app.state.tables))
        # the rules read through the same client and tables as the routes
        app.state.alerts = AlertEvaluator(settings, app.state.pinot, app.state.tables)
        metrics.registry.register(app.state.alerts.collector)
        app.state.alerts.start()
        yield
        await anyio.to_thread.run_sync(app.state.alerts.stop)  # joins its threads: off the event loop
        metrics.registry.unregister(app.state.alerts.collector)
        await app.state.live.close()
        if cache is not None:
            cache.close()
        app.state.pinot.close()

    app = FastAPI(
        title="rta metrics API",
        version=version("rta"),
        description="Real-time e-commerce metrics served from Apache Pinot, computed by Apache Flink. "
        "Every error answers the same shape (`ErrorBody`); a 422 names the parameter in `loc`.",
        lifespan=lifespan,
        redirect_slashes=False,  # `/metrics/products/` is not a product: 404, not a redirect
    )
    app.state.keys = Keys.from_settings(settings)  # fails fast: access control on without keys
    metric_modules = (
        *(summary, live, active_users, event_types, revenue, products, categories, funnel),
        *(customers, retention, brands, page_views, referrers, landing_pages, visits, data_quality),
        dimensions,
    )
    for router, scope in (
        (health.router, None),
        (reference.router, None),
        (access.router, None),
        *((m.router, Scope.METRICS) for m in metric_modules),
        (sessions.router, Scope.SESSIONS),
        (data_quality.letters, Scope.SESSIONS),  # raw payloads: user ids
        (kafka.router, Scope.KAFKA),
        (prometheus.router, Scope.OPS),
        (alerts.router, Scope.OPS),
    ):
        app.include_router(router, dependencies=scoped(scope) if scope else [])
    dashboard.mount(app)
    app.state.metrics = metrics
    app.add_middleware(RequestMetrics, metrics=metrics)
    errors.install(app)
    return app


app = create_app()
