"""One error body for every failure the API answers, and the handlers that produce it.

Shape (`ErrorBody`): `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}`. `loc` names what was wrong
(`["query", "from"]`, `["path", "product_id"]`), or is empty for the request as a whole (503, 500). A 5xx
body never carries engine internals or a stack trace: those go to the log, with the reference the body gives.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.auth import AuthError
from api.timerange import ParamError
from query.pinot import PinotError, PinotUnavailable
from query.sql import QueryError

log = logging.getLogger("rta.api")
RETRY_AFTER_S = 5


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(
        description="where: ['query', name], ['path', name]; [] for the request as a whole"
    )
    msg: str = Field(description="what is wrong, in words")
    type: str = Field(description="a machine-readable kind: value_error, not_found, unavailable, ...")


class ErrorBody(BaseModel):
    """Every error response of the API has this shape."""

    detail: list[ErrorItem]


def error(
    status: int,
    msg: str,
    kind: str,
    loc: list[str | int] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(detail=[ErrorItem(loc=loc or [], msg=msg, type=kind)])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


class Unavailable(Exception):
    """A service the route needs (Kafka, the live feeds) cannot answer now (503 with Retry-After)."""


class NotFound(Exception):
    """A path parameter names nothing that exists (404)."""

    def __init__(self, param: str, message: str) -> None:
        self.param = param
        super().__init__(message)


_RETRY_HEADER = {
    "Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "no such resource"}}
INVALID: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "a parameter is invalid; `loc` names it"}
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorBody,
        "description": "Pinot is unreachable or cannot serve the table yet; retry after `Retry-After` s",
        "headers": _RETRY_HEADER,
    }
}
SERVER: dict[int | str, dict[str, Any]] = {
    500: {"model": ErrorBody, "description": "unexpected failure (logged; the body gives a reference)"},
    502: {"model": ErrorBody, "description": "Pinot failed the query (logged; the body gives a reference)"},
}
METRIC_RESPONSES = {**INVALID, **UNAVAILABLE, **SERVER}
"""What every metric route can answer besides 200 (routes with a path parameter add NOT_FOUND)."""


def _message(e: Any) -> str:
    """The validation message, without echoing a long pattern back (the OpenAPI spec documents it)."""
    if e.get("type") == "string_pattern_mismatch":
        return "does not have the documented form (see this parameter's pattern and description)"
    return str(e.get("msg", ""))


def _reference() -> str:
    return uuid.uuid4().hex[:12]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed(request: Request) -> list[str]:
    """The methods some route serves at this path (asked of the router, as it would route them)."""
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.routes):
            allowed.append(method)
    return allowed


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the ErrorBody shape."""

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        items = [
            ErrorItem(loc=list(e.get("loc", ())), msg=_message(e), type=str(e.get("type", "")))
            for e in exc.errors()
        ]
        return JSONResponse(ErrorBody(detail=items).model_dump(), status_code=422)

    @app.exception_handler(ParamError)
    async def bad_param(_: Request, exc: ParamError) -> JSONResponse:
        return error(422, str(exc), "value_error", ["query", exc.param])

    @app.exception_handler(QueryError)
    async def bad_value(_: Request, exc: QueryError) -> JSONResponse:
        return error(422, f"invalid parameter value: {exc}", "value_error")

    @app.exception_handler(NotFound)
    async def not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error(404, str(exc), "not_found", ["path", exc.param])

    @app.exception_handler(AuthError)
    async def refused(_: Request, exc: AuthError) -> JSONResponse:
        return error(exc.status, str(exc), exc.kind, headers=exc.headers or None)

    @app.exception_handler(Unavailable)
    async def unavailable(_: Request, exc: Unavailable) -> JSONResponse:
        return error(503, str(exc), "unavailable", headers={"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path (Starlette names only one route's)
            headers["Allow"] = ", ".join(_allowed(request))
        return error(exc.status_code, str(exc.detail), kind, headers=headers or None)

    @app.exception_handler(PinotError)
    async def pinot_error(request: Request, exc: PinotError) -> JSONResponse:
        ref = _reference()
        if isinstance(exc, PinotUnavailable):
            log.warning("[%s] %s %s: %s (%s)", ref, request.method, request.url.path, exc, exc.detail)
            return error(
                503,
                f"{exc}; retry shortly (ref {ref})",
                "unavailable",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        log.error("[%s] %s %s: %s (%s)", ref, request.method, request.url.path, exc, exc.detail)
        return error(502, f"{exc} (ref {ref}; the error is logged)", "bad_gateway")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        ref = _reference()
        log.exception("[%s] %s %s failed", ref, request.method, request.url.path)
        return error(500, f"unexpected error (ref {ref}; the error is logged)", "internal_error")
