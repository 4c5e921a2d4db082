"""The dashboard: a static page and its libraries, served from this package (no CDN, no network)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.errors import Unavailable

HERE = Path(__file__).resolve().parent.parent / "dashboard"
STATIC = HERE / "static"
VENDOR = HERE / "node_modules" / "echarts" / "dist"
"""Apache ECharts as `npm ci` installed it from api/dashboard/package-lock.json (make setup)."""

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=307)


def _not_installed() -> Unavailable:
    return Unavailable(f"the dashboard's libraries are not installed in {VENDOR.parent}: run `make setup`")


@router.get("/dashboard")
def dashboard() -> FileResponse:
    if not (VENDOR / "echarts.min.js").is_file():
        raise _not_installed()
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    if VENDOR.is_dir():
        app.mount("/dashboard/vendor", StaticFiles(directory=VENDOR), name="dashboard-vendor")
    else:  # a 503 that says what to do, not StaticFiles' 500 for a missing folder

        @app.get("/dashboard/vendor/{path:path}", include_in_schema=False)
        def vendor_missing(path: str) -> None:
            raise _not_installed()
