from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.auth import COOKIE, LOOPBACK, Keys, authenticate, presented
from api.errors import ErrorBody

router = APIRouter(prefix="/auth", tags=["access"])
COOKIE_MAX_AGE_S = 12 * 3600  # a working day: then the dashboard asks for the key again
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "no key, or an unknown one"}
}


@router.post("/session", status_code=204, responses=UNAUTHORIZED)
def start_session(request: Request, response: Response) -> None:
    """Keep the key sent in Authorization / X-API-Key as an HttpOnly cookie (for the dashboard's live stream,
    which cannot send headers). A no-op while access control is off."""
    keys: Keys = request.app.state.keys
    if not keys.required(request):
        return
    key = presented(request)
    authenticate(keys, key)
    assert key is not None  # authenticate refused a missing key
    # Secure unless the browser is on this machine over plain http (a TLS proxy in front shows as http).
    local = request.client is not None and request.client.host in LOOPBACK
    secure = request.url.scheme == "https" or not local
    response.set_cookie(
        COOKIE, key, httponly=True, samesite="strict", secure=secure, path="/", max_age=COOKIE_MAX_AGE_S
    )


@router.delete("/session", status_code=204)
def end_session(response: Response) -> None:
    """Forget the key cookie."""
    response.delete_cookie(COOKIE, path="/")
