"""API keys: who may read what, and how fast.

Off by default while the API listens on loopback only; on whenever it listens on another address
(`RTA_API_AUTH=auto`), or when forced with `on`. With access control on and no key configured, the API
refuses to start.

- A key is sent as `Authorization: Bearer <key>`, as `X-API-Key: <key>`, or as the `rta_key` cookie
  that `POST /auth/session` sets (what the dashboard uses: a browser's EventSource cannot send
  headers). Keys are configured by their SHA-256 only (`rta key new` makes one).
- 401: no key, or an unknown one. 403: a known key without the route's scope. 429: the key's rate is
  used up (a token bucket per key); `Retry-After` says when to come back.

Scopes (a route needs exactly one): `metrics` (aggregates, the live stream), `sessions` (rows that carry
user ids: sessions and dead-letter payloads), `kafka` (raw records on the topics), `ops` (`/prometheus`).
/health, /ready, /time-zones and the dashboard's static files are open: they hold no data.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fastapi import Depends, Request

from core.settings import ApiKey, Settings

COOKIE = "rta_key"
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class Scope(StrEnum):
    METRICS = "metrics"
    SESSIONS = "sessions"
    KAFKA = "kafka"
    OPS = "ops"


class AuthError(Exception):
    """401, 403 or 429, with the headers that go with it."""

    def __init__(self, status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> None:
        self.status = status
        self.kind = kind
        self.headers = headers or {}
        super().__init__(message)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """(a new random key, its SHA-256 to put in RTA_API_KEYS)."""
    key = "rta_" + secrets.token_urlsafe(32)
    return key, digest(key)


def enabled(settings: Settings) -> bool:
    if settings.api_auth == "auto":
        return settings.api_bind_host not in LOOPBACK
    return settings.api_auth == "on"


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Keys:
    """The configured keys and their rate buckets (one per key, in this process)."""

    keys: tuple[ApiKey, ...]
    on: bool
    auto: bool = False  # on for any request that arrives on a non-loopback address, whatever the setting
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Keys:
        on = enabled(settings)
        if on and not settings.api_keys:
            raise RuntimeError(
                f"the API listens on {settings.api_bind_host} with access control on but RTA_API_KEYS is"
                " empty: make a key with `rta key new` (or set RTA_API_AUTH=off behind a proxy that"
                " authenticates)"
            )
        return cls(tuple(settings.api_keys), on, auto=settings.api_auth == "auto")

    def required(self, request: Request) -> bool:
        """Whether this request needs a key: `on`, or (auto) it came in on an address that is not loopback
        (uvicorn started with --host 0.0.0.0 while RTA_API_BIND_HOST still says 127.0.0.1)."""
        if self.on:
            return True
        if not self.auto:
            return False
        host = (request.scope.get("server") or ("", 0))[0]
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:  # a unix socket's path, a test client's name: not a network address
            return False

    def find(self, key: str) -> ApiKey | None:
        wanted = digest(key)
        found = None
        for k in self.keys:  # compare with every key, in constant time each
            if hmac.compare_digest(k.sha256, wanted):
                found = k
        return found

    def take(self, key: ApiKey) -> float:
        """Spend one request of `key`'s rate: 0 when allowed, else the seconds until it would be."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key.name, _Bucket(float(key.burst), now))
            bucket.tokens = min(float(key.burst), bucket.tokens + (now - bucket.at) * key.rate_per_s)
            bucket.at = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return (1 - bucket.tokens) / key.rate_per_s


def presented(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or request.cookies.get(COOKIE) or None


def authenticate(keys: Keys, key: str | None) -> ApiKey:
    if key is None:
        raise AuthError(
            401, "an API key is required (Authorization: Bearer <key>)", "unauthorized", _CHALLENGE
        )
    found = keys.find(key)
    if found is None:
        raise AuthError(401, "unknown API key", "unauthorized", _CHALLENGE)
    return found


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="rta"'}


def require(scope: Scope) -> Callable[[Request], Coroutine[Any, Any, None]]:
    """A route dependency: the request's key has `scope` and rate to spare (no-op with access control off)."""

    async def check(request: Request) -> None:  # no I/O: on the event loop, not the thread pool
        keys: Keys = request.app.state.keys
        if not keys.required(request):
            return
        key = authenticate(keys, presented(request))
        if scope.value not in key.scopes:
            raise AuthError(
                403, f"this key may not read {scope.value} (its scopes: {', '.join(key.scopes)})", "forbidden"
            )
        wait = keys.take(key)
        if wait > 0:
            raise AuthError(
                429,
                f"rate limit of {key.rate_per_s:g} requests/s reached",
                "rate_limited",
                {"Retry-After": str(max(1, math.ceil(wait)))},
            )

    return check


def scoped(scope: Scope) -> list[Any]:
    """`dependencies=` for a router whose routes all need `scope`."""
    return [Depends(require(scope))]
