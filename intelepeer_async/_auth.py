"""Credential providers: where the auth headers of each service come from.

Three kinds, one interface (`AuthProvider`):

* `StaticToken`: a ready token (the portal's long-lived one, or a JWT you hold).
* `LoginToken`: username/password exchanged lazily for a token, cached, and
  refreshed shortly before it expires. The login runs inside the budget of the
  call that needs it; concurrent callers share one login, and its failure.
* `StaticHeaders`: fixed headers (Yay.com's X-Auth-* triple); never refreshed.

Tokens are held as `Secret` and no repr shows them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    LoginConnectionError,
    LoginError,
    LoginRefusedError,
    LoginTimeoutError,
)
from .types import Secret

__all__ = [
    "EXPIRED_TOKEN_ANSWER",
    "FRESH_TOKEN_GRACE",
    "LOGIN_REFUSAL_MEMORY",
    "MIN_LOGIN_BUDGET",
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
#: A 401 on a token issued less than this many seconds ago is the API's own
#: answer (SmartCommunicator uses 401 for business errors), not a stale token:
#: it is raised as `AuthenticationError` and the token is kept.
FRESH_TOKEN_GRACE = 2.0
#: A 401 whose text says the token expired is expiry, however young the token:
#: the v4 API answers ``{"error":"token has expired"}`` and SmartCommunicator
#: "Token has expired". Such a 401 is never one of the API's business answers.
EXPIRED_TOKEN_ANSWER = re.compile(r"\btoken\b.*\bexpired\b", re.IGNORECASE | re.DOTALL)
#: A login refused with 401/403 is remembered this many seconds: calls in that
#: window get the same `LoginRefusedError` without a request, so a burst of
#: calls with a wrong password makes one login attempt, not one each.
LOGIN_REFUSAL_MEMORY = 5.0
#: A caller whose shared login was abandoned (the caller running it ran out of
#: time) runs the login itself only if it has at least this many seconds left.
MIN_LOGIN_BUDGET = 0.05

# RFC 6750 b64token: what a Bearer token may contain.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# Three base64url segments (the signature may be empty for an unsigned token).
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
MIN_TOKEN_LENGTH = 8
MAX_TOKEN_LENGTH = 8192

_E = TypeVar("_E", bound=BaseException)


class AuthProvider:
    """Supplies the auth headers for one service; subclasses say how."""

    async def token(self, deadline: float) -> str:
        """A currently valid token ('' for header-only schemes), by `deadline` (anyio clock)."""
        raise NotImplementedError

    def headers(self, token: str) -> dict[str, str]:
        """The request headers that carry `token`."""
        raise NotImplementedError

    def header_names(self) -> frozenset[str]:
        """The (lower-case) names of the headers this provider sets."""
        return frozenset({"authorization"})

    def refused(self, token: str, answer: str | None = None) -> bool:
        """The server answered 401 to `token` (its text: `answer`): is one resend
        with fresh credentials worth it?"""
        return False


def _authorization(token: str, scheme: str | None) -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}" if scheme else token}


class StaticToken(AuthProvider):
    """A token the user already holds; a 401 with it is final."""

    def __init__(self, token: str, *, scheme: str | None = "Bearer") -> None:
        self._token = Secret(token)
        self._scheme = scheme

    async def token(self, deadline: float) -> str:
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

    async def token(self, deadline: float) -> str:
        return ""

    def headers(self, token: str) -> dict[str, str]:
        return {name: value.reveal() for name, value in self._headers.items()}

    def header_names(self) -> frozenset[str]:
        return frozenset(name.lower() for name in self._headers)

    def __repr__(self) -> str:
        return f"StaticHeaders({sorted(self._headers)!r})"


def _fresh(error: _E) -> _E:
    """A new exception object with `error`'s state: each waiter raises its own
    (one object raised in several tasks would share and grow one traceback)."""
    clone = type(error).__new__(type(error))
    clone.__dict__.update(error.__dict__)
    clone.args = error.args
    return clone


class _Flight:
    """One login in progress; its waiters read the outcome when `done` is set."""

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.token: str | None = None
        self.error: LoginError | None = None


class LoginToken(AuthProvider):
    """A token fetched with `login(deadline)` on first use, cached until shortly before expiry.

    `login` performs the authenticate request within `deadline` and returns the
    decoded body, or raises the SDK's errors; `extract_token` finds the token.
    Expiry comes from the token's own `exp` claim when it is a JWT, else
    `default_ttl`.

    Single flight: one login at a time. The caller that starts it runs it in
    its own task and budget (structured concurrency leaves no task to run it
    in that could outlive its caller); the others wait, each bounded by its
    own deadline. The login's failure is shared by every waiter. If the caller
    running it runs out of time (or is cancelled), the login stops with it and
    the next waiter with time left runs a new one.
    """

    def __init__(
        self,
        login: Callable[[float], Awaitable[object]],
        *,
        scheme: str | None = "Bearer",
        jwt: bool = False,
        name: str = "the login",
        default_ttl: float = DEFAULT_TOKEN_TTL,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self._login = login
        self._scheme = scheme
        self._jwt = jwt
        self._name = name
        self._default_ttl = default_ttl
        self._clock = clock
        self._token: Secret | None = None
        self._issued_at = 0.0
        self._refresh_at = 0.0
        self._flight: _Flight | None = None
        self._refusal: LoginError | None = None
        self._refused_until = 0.0
        #: Seconds a refused fresh token counts as the API's answer (FRESH_TOKEN_GRACE).
        self.fresh_grace = FRESH_TOKEN_GRACE
        #: How many logins this provider has started (for tests and metrics).
        self.logins = 0

    def _current(self) -> str | None:
        if self._token is not None and self._clock() < self._refresh_at:
            return self._token.reveal()
        return None

    def _timed_out(self) -> LoginTimeoutError:
        return LoginTimeoutError(
            f"{self._name} did not finish within the call's time budget;"
            " the call that needed it was never sent"
        )

    async def token(self, deadline: float) -> str:
        while True:
            current = self._current()
            if current is not None:
                return current
            if self._refusal is not None and self._clock() < self._refused_until:
                raise _fresh(self._refusal)
            flight = self._flight
            if flight is None:
                return await self._lead(deadline)
            with anyio.move_on_after(deadline - anyio.current_time()):
                await flight.done.wait()
            if not flight.done.is_set():
                raise self._timed_out()
            if flight.token is not None:
                return flight.token
            if flight.error is not None:
                raise _fresh(flight.error)
            # Abandoned by the caller running it: run a new one if time allows.
            if deadline - anyio.current_time() < MIN_LOGIN_BUDGET:
                raise self._timed_out()

    async def _lead(self, deadline: float) -> str:
        flight = self._flight = _Flight()
        self.logins += 1
        outcome: str | LoginError | None = None
        try:
            outcome = await self._attempt(deadline)
        finally:
            if self._flight is flight:
                self._flight = None
            if isinstance(outcome, str):
                flight.token = outcome
            elif outcome is not None and not isinstance(outcome, LoginTimeoutError):
                flight.error = outcome  # the server's answer: the same for everyone
            flight.done.set()
        if isinstance(outcome, str):
            return outcome
        assert outcome is not None
        raise _fresh(outcome)

    async def _attempt(self, deadline: float) -> str | LoginError:
        """The new token, or the `LoginError` the login ended with. Returned, not
        raised, so that no exception chain carries the login's internals."""
        try:
            body = await self._login(deadline)
        except APITimeoutError:
            return self._timed_out()
        except APIStatusError as exc:
            return self._refused(exc) if exc.status_code in (401, 403) else self._failed(exc)
        except (APIConnectionError, APIResponseValidationError) as exc:
            return self._failed(exc)
        try:
            token = extract_token(body, jwt=self._jwt)
        except LoginError as exc:
            return LoginError(f"{self._name} failed: {exc}; the call that needed it was never sent")
        lifetime = token_lifetime(token, default=self._default_ttl)
        margin = min(REFRESH_MARGIN, lifetime / 10.0)
        now = self._clock()
        self._token = Secret(token)
        self._issued_at = now
        self._refresh_at = now + lifetime - margin
        self._refusal = None
        return token

    def _refused(self, exc: APIStatusError) -> LoginError:
        error = LoginRefusedError(
            f"{self._name} was refused ({exc.status_code}: {exc.message});"
            " the call that needed it was never sent",
            status_code=exc.status_code,
            message=exc.message,
            body=exc.body,
            request_id=exc.request_id,
        )
        self._refusal = error
        self._refused_until = self._clock() + LOGIN_REFUSAL_MEMORY
        return error

    def _failed(
        self, exc: APIStatusError | APIConnectionError | APIResponseValidationError
    ) -> LoginError:
        if isinstance(exc, APIConnectionError):
            return LoginConnectionError(
                f"{self._name} failed ({exc}); the call that needed it was never sent"
            )
        return LoginError(
            f"{self._name} failed ({exc}); the call that needed it was never sent",
            status_code=exc.status_code,
            message=getattr(exc, "message", None),
            body=getattr(exc, "body", None),
            request_id=getattr(exc, "request_id", None),
        )

    def headers(self, token: str) -> dict[str, str]:
        return _authorization(token, self._scheme)

    def refused(self, token: str, answer: str | None = None) -> bool:
        if self._token is None or self._token.reveal() != token:
            return True  # already replaced by another caller: resend with the new one
        says_expired = answer is not None and EXPIRED_TOKEN_ANSWER.search(answer) is not None
        if not says_expired and self._clock() - self._issued_at < self.fresh_grace:
            return False  # just issued: the 401 is the API's answer
        self._token = None
        return True

    def __repr__(self) -> str:
        state = "cached" if self._token is not None else "empty"
        return f"LoginToken(scheme={self._scheme!r}, token={state})"


_TOKEN_KEYS = ("token", "access_token", "accessToken", "jwt", "id_token", "authToken")


def _find_token(body: object) -> str | None:
    if isinstance(body, str):
        return body.strip().strip('"')
    if isinstance(body, Mapping):
        for key in _TOKEN_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value.strip()
        nested = body.get("data")
        if nested is not None and nested is not body:
            return _find_token(nested)
    return None


def extract_token(body: object, *, jwt: bool = False) -> str:
    """The token in an authenticate response, if it is a well-formed one.

    The v4 endpoint answers ``{"token": "..."}``; the SmartCommunicator page
    only says "a token", so a bare string (JSON or text), the usual key names,
    and the same nested under ``data`` are all accepted. A v4 token must be a
    Bearer token (RFC 6750 characters, 8 to 8192 of them); a SmartCommunicator
    token must be shaped like a JWT. Anything else (an HTML page from a proxy)
    raises `LoginError` rather than being cached and sent as a credential.
    """
    token = _find_token(body)
    # Neither the body nor the candidate is echoed: either might be secret.
    if not token:
        raise LoginError("the login answered without a token in a known field")
    shape = _JWT if jwt else _B64TOKEN
    if not (MIN_TOKEN_LENGTH <= len(token) <= MAX_TOKEN_LENGTH) or not shape.fullmatch(token):
        kind = "a JWT" if jwt else "a well-formed bearer token"
        raise LoginError(f"the login answered with something that is not {kind}")
    return token


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
