"""Credential providers: where the Authorization headers of each service come from.

Four kinds, one interface (`AuthProvider`):

* `StaticToken`: a ready token (the portal's long-lived one, or a JWT you hold).
* `LoginToken`: username/password exchanged lazily for a token, cached, refreshed
  shortly before it expires and once after a 401. Concurrent callers share one
  login (single-flight): 500 calls finding the token expired cause one request.
* `StaticHeaders`: fixed headers (Yay.com's X-Auth-* triple); never refreshed.

Tokens are held as `Secret` and no repr shows them.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from .errors import IntelePeerError
from .types import Secret

__all__ = [
    "AuthProvider",
    "LoginToken",
    "StaticHeaders",
    "StaticToken",
    "extract_token",
    "token_lifetime",
]

#: The v4 docs say a token lives 24 hours; used when the token itself does not say.
DEFAULT_TOKEN_TTL = 24 * 3600.0
#: Refresh this long before expiry (or a tenth of a short lifetime, if smaller),
#: so a call never goes out with a token about to lapse in flight.
REFRESH_MARGIN = 300.0


class AuthProvider:
    """Supplies the auth headers for one service; subclasses say how."""

    #: Whether a 401 is worth one retry with fresh credentials.
    refreshable = False

    async def token(self) -> str:
        """A currently valid token ('' for header-only schemes)."""
        raise NotImplementedError

    def headers(self, token: str) -> dict[str, str]:
        """The request headers that carry `token`."""
        raise NotImplementedError

    def invalidate(self, token: str) -> None:
        """Forget `token` after the server rejected it (no-op if already replaced)."""


def _authorization(token: str, scheme: str | None) -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}" if scheme else token}


class StaticToken(AuthProvider):
    """A token the user already holds; a 401 with it is final."""

    def __init__(self, token: str, *, scheme: str | None = "Bearer") -> None:
        self._token = Secret(token)
        self._scheme = scheme

    async def token(self) -> str:
        return self._token.reveal()

    def headers(self, token: str) -> dict[str, str]:
        return _authorization(token, self._scheme)

    def __repr__(self) -> str:
        return f"StaticToken(scheme={self._scheme!r}, token=********)"


class StaticHeaders(AuthProvider):
    """Fixed headers sent with every request (Yay.com's X-Auth-* triple)."""

    def __init__(self, headers: Mapping[str, Secret | str]) -> None:
        self._headers = {
            name: value if isinstance(value, Secret) else Secret(value)
            for name, value in headers.items()
        }

    async def token(self) -> str:
        return ""

    def headers(self, token: str) -> dict[str, str]:
        return {name: value.reveal() for name, value in self._headers.items()}

    def __repr__(self) -> str:
        return f"StaticHeaders({sorted(self._headers)!r})"


class LoginToken(AuthProvider):
    """A token fetched with `login()` on first use, cached until shortly before expiry.

    `login` performs the authenticate request and returns the decoded response
    body; `extract_token` finds the token in it. Expiry comes from the token's
    own `exp` claim when it is a JWT, else `default_ttl`.
    """

    refreshable = True

    def __init__(
        self,
        login: Callable[[], Awaitable[object]],
        *,
        scheme: str | None = "Bearer",
        default_ttl: float = DEFAULT_TOKEN_TTL,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._login = login
        self._scheme = scheme
        self._default_ttl = default_ttl
        self._clock = clock
        self._token: Secret | None = None
        self._refresh_at = 0.0
        self._lock = anyio.Lock()
        #: How many authenticate requests this provider has made (for tests and metrics).
        self.logins = 0

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token.reveal()
        return None

    async def token(self) -> str:
        current = self._current()
        if current is not None:
            return current
        async with self._lock:
            # Whoever held the lock before us may have refreshed already.
            current = self._current()
            if current is not None:
                return current
            self.logins += 1
            body = await self._login()
            token = extract_token(body)
            lifetime = token_lifetime(token, default=self._default_ttl)
            margin = min(REFRESH_MARGIN, lifetime / 10.0)
            self._token = Secret(token)
            self._refresh_at = self._clock() + lifetime - margin
            return token

    def headers(self, token: str) -> dict[str, str]:
        return _authorization(token, self._scheme)

    def invalidate(self, token: str) -> None:
        if self._token is not None and self._token.reveal() == token:
            self._token = None

    def __repr__(self) -> str:
        state = "cached" if self._token is not None else "empty"
        return f"LoginToken(scheme={self._scheme!r}, token={state})"


_TOKEN_KEYS = ("token", "access_token", "accessToken", "jwt", "id_token", "authToken")


def extract_token(body: object) -> str:
    """The token in an authenticate response.

    The v4 endpoint answers ``{"token": "..."}``; the SmartCommunicator page
    only says "a token", so a bare string (JSON or text), the usual key names,
    and the same nested under ``data`` are all accepted.
    """
    if isinstance(body, str) and body.strip():
        return body.strip().strip('"')
    if isinstance(body, Mapping):
        for key in _TOKEN_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        nested = body.get("data")
        if nested is not None and nested is not body:
            return extract_token(nested)
    # The body is not echoed: it might hold something secret.
    raise IntelePeerError("the authenticate response carried no token in a known field")


def _jwt_claims(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def token_lifetime(token: str, *, default: float, now: float | None = None) -> float:
    """Seconds from now until `token` expires.

    For a JWT with `exp` and an issue time (`crt`, as SmartCommunicator sends,
    or `iat`), the lifetime is ``exp - issued``: measured on the server's own
    clock, so a skewed local clock does not matter. With `exp` alone, it is
    compared with the local clock. Anything else gets `default`.
    """
    claims = _jwt_claims(token)
    if not claims:
        return default
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return default
    issued = claims.get("crt", claims.get("iat"))
    if isinstance(issued, int | float) and not isinstance(issued, bool) and exp > issued:
        return float(exp - issued)
    remaining = float(exp) - (time.time() if now is None else now)
    return max(0.0, remaining)
