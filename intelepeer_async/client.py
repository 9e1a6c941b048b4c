"""`AsyncIntelePeer` and `AsyncYay`: configuration, credentials and resources.

A client owns one connection pool; use it as ``async with`` or call
``await client.aclose()``. Resources (``ip.sms``, ``ip.smartflows``, ...) are thin
and built on access, so ``with_options`` copies stay cheap and share the pool.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, fields, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from ._auth import AuthProvider, LoginToken, StaticHeaders, StaticToken
from ._http import GonePredicate, HTTPCore, Response, TransportName
from ._limit import DEFAULT_MAX_IN_FLIGHT
from ._redact import redact_url
from ._retry import RetryPolicy
from ._version import __version__
from .errors import InvalidInputError
from .types import Secret, Timeout, validate_credential

if TYPE_CHECKING:
    import httpx

    from .resources.agents import Agents
    from .resources.callflows import CallFlows
    from .resources.smartflows import SmartFlows
    from .resources.sms import Sms


__all__ = ["DEFAULT_TIMEOUT", "AsyncIntelePeer", "AsyncYay", "ServiceURLs"]

DEFAULT_TIMEOUT = Timeout(total=30.0, connect=5.0)
USER_AGENT = f"intelepeer-async/{__version__}"


@dataclass(frozen=True)
class ServiceURLs:
    """Base URL of each IntelePeer service; every field can be overridden on its own.

    `api` serves SMS, webhooks, provisioning and the v4 SmartFlows trigger (EU
    numbers: ``https://eu.api.intelepeer.com``); `auth` issues v4 tokens (the
    docs also name ``https://atmosphere.intelepeer.com``); `token_url`, when set,
    replaces the whole authenticate URL (older accounts use
    ``{api}/_rest/v4/app/sms/authenticate/get_portal_auth_token``).
    """

    api: str = "https://api.intelepeer.com"
    auth: str = "https://customer.intelepeer.com"
    smartcomm: str = "https://atmosphere-api.intelepeer.com"
    smartflows_legacy: str = "https://smart-flows.intelepeer.com"
    token_url: str | None = None

    @classmethod
    def all_at(cls, base_url: str) -> ServiceURLs:
        """Every service at one URL: a local simulator or a proxy."""
        base = base_url.rstrip("/")
        return cls(api=base, auth=base, smartcomm=base, smartflows_legacy=base)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                raise InvalidInputError(f"ServiceURLs.{f.name} must be an http(s) URL")
            object.__setattr__(self, f.name, value.rstrip("/"))

    @property
    def v4_token_url(self) -> str:
        return self.token_url or f"{self.auth}/_rest/v4/authenticate"

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={redact_url(v) if isinstance(v := getattr(self, f.name), str) else v!r}"
            for f in fields(self)
        )
        return f"ServiceURLs({shown})"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


class _BaseClient:
    """What both clients share: the core, its lifecycle, and `with_options`."""

    _core: HTTPCore

    def _init_core(
        self,
        *,
        timeout: float | Timeout,
        max_retries: int,
        http_client: httpx.AsyncClient | None,
        transport: str,
        max_in_flight: int,
    ) -> None:
        self._core = HTTPCore(
            timeout=Timeout.coerce(timeout),
            policy=RetryPolicy(max_retries=max_retries),
            http_client=http_client,
            headers={"User-Agent": USER_AGENT},
            transport_name=transport,
            max_in_flight=max_in_flight,
        )

    @property
    def timeout(self) -> Timeout:
        return self._core.timeout

    @property
    def max_retries(self) -> int:
        return self._core.policy.max_retries

    @property
    def max_in_flight(self) -> int:
        """Requests this client (and its `with_options` copies) has on the wire at most."""
        return self._core.limit.limit

    def with_options(
        self, *, timeout: float | Timeout | None = None, max_retries: int | None = None
    ) -> Self:
        """A copy with other timeout/retry settings, sharing pool and credentials.

        The way to set a timeout for one call:
        ``await ip.with_options(timeout=5).sms.status(refid)``.
        """
        clone = copy.copy(self)
        clone._core = self._core.copy(
            timeout=Timeout.coerce(timeout) if timeout is not None else None,
            policy=replace(self._core.policy, max_retries=max_retries)
            if max_retries is not None
            else None,
        )
        return clone

    def _request(
        self,
        method: str,
        url: str,
        *,
        auth: AuthProvider | None,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        idempotent: bool | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
        envelope: bool = False,
        gone_if: GonePredicate | None = None,
    ) -> Coroutine[Any, Any, Response]:
        # These helpers return the core's coroutine rather than awaiting it: a
        # call queued for a slot then holds one frame, not four (issue 10:
        # memory per queued call when thousands are submitted at once).
        return self._core.request(
            method,
            url,
            params=params,
            json_body=json_body,
            auth=auth,
            idempotent=idempotent,
            headers=extra_headers,
            timeout=timeout,
            envelope=envelope,
            gone_if=gone_if,
        )

    @property
    def is_closed(self) -> bool:
        return self._core.is_closed

    async def aclose(self) -> None:
        """Close the connection pool, unless it was passed in by the user."""
        await self._core.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncIntelePeer(_BaseClient):
    """Client for IntelePeer's Atmosphere, SmartFlows and SmartCommunicator APIs.

    Credentials: a ready `token` (sent as ``Authorization: Bearer``) or
    `username`/`password`, exchanged lazily (within the budget of the call that
    needs it) for a 24-hour token, refreshed before expiry, and once after a 401
    on a token older than `FRESH_TOKEN_GRACE`. SmartCommunicator (``ip.agents``) always
    logs in with `username`/`password` to get its own JWT, unless a ready
    `smartcomm_token` is given. Every argument left out falls back to its
    environment variable (``INTELEPEER_TOKEN``, ``INTELEPEER_USERNAME``,
    ``INTELEPEER_PASSWORD``, ``INTELEPEER_SMARTCOMM_TOKEN``,
    ``INTELEPEER_CUSTOMER_ID``, ``INTELEPEER_BASE_URL``); credentials come either
    all from arguments or all from the environment, never mixed.
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        customer_id: int | str | None = None,
        smartcomm_token: str | None = None,
        base_url: str | None = None,
        urls: ServiceURLs | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportName = "httpx",
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        if token is None and username is None and password is None and smartcomm_token is None:
            token = _env("INTELEPEER_TOKEN")
            username = _env("INTELEPEER_USERNAME")
            password = _env("INTELEPEER_PASSWORD")
            smartcomm_token = _env("INTELEPEER_SMARTCOMM_TOKEN")
        if (username is None) != (password is None):
            raise InvalidInputError("username and password go together: pass both or neither")
        if token is None and username is None and smartcomm_token is None:
            raise InvalidInputError(
                "no credentials: pass token=, or username= and password= "
                "(or set INTELEPEER_TOKEN / INTELEPEER_USERNAME and INTELEPEER_PASSWORD)"
            )
        # Checked now, not when the first request fails: named, never echoed.
        for name, value, in_header in (
            ("token", token, True),
            ("smartcomm_token", smartcomm_token, True),
            ("username", username, False),
            ("password", password, False),
        ):
            if value is not None:
                validate_credential(value, name, in_header=in_header, spaces=False)
        if customer_id is None:
            customer_id = _env("INTELEPEER_CUSTOMER_ID")
        self.customer_id: str | None = str(customer_id) if customer_id is not None else None

        base_url = base_url or _env("INTELEPEER_BASE_URL")
        self.urls = urls or (ServiceURLs.all_at(base_url) if base_url else ServiceURLs())
        self._init_core(
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            transport=transport,
            max_in_flight=max_in_flight,
        )

        login_body: dict[str, Secret] | None = None
        if username is not None and password is not None:
            login_body = {"username": Secret(username), "password": Secret(password)}
        self._v4_auth = self._provider(token, login_body, self.urls.v4_token_url, "Bearer")
        self._smartcomm_auth = self._provider(
            smartcomm_token, login_body, f"{self.urls.smartcomm}/rest/v1/authenticate", None
        )

    def _provider(
        self,
        token: str | None,
        login_body: dict[str, Secret] | None,
        url: str,
        scheme: str | None,
    ) -> AuthProvider | None:
        if token is not None:
            return StaticToken(token, scheme=scheme)
        if login_body is None:
            return None
        core = self._core  # the original's retry policy; the budget is the caller's

        async def login(deadline: float) -> object:
            body = {key: value.reveal() for key, value in login_body.items()}
            response = await core.request(
                "POST", url, json_body=body, idempotent=True, deadline=deadline
            )
            if response.body_error:
                raise response.unreadable("the login's answer has no token")
            return response.data

        host = urlsplit(url).hostname or url
        return LoginToken(login, scheme=scheme, jwt=scheme is None, name=f"the login to {host}")

    def _require(self, provider: AuthProvider | None, what: str) -> AuthProvider:
        if provider is None:
            raise InvalidInputError(f"{what} needs credentials this client was not given")
        return provider

    def _v4(self, method: str, url: str, **kwargs: Any) -> Coroutine[Any, Any, Response]:
        """A call to an Atmosphere v4 endpoint with the v4 token (unless the
        caller's extra headers carry an Authorization of their own)."""
        auth = self._credentials_for(
            self._v4_auth, "this API (a v4 token, or username/password)", kwargs
        )
        return self._request(method, url, auth=auth, **kwargs)

    def _smartcomm(self, method: str, url: str, **kwargs: Any) -> Coroutine[Any, Any, Response]:
        """A call to SmartCommunicator with its own JWT (unless the caller's extra
        headers carry an Authorization of their own)."""
        auth = self._credentials_for(
            self._smartcomm_auth,
            "SmartCommunicator (username/password or smartcomm_token)",
            kwargs,
        )
        return self._request(method, url, auth=auth, **kwargs)

    def _credentials_for(
        self, provider: AuthProvider | None, what: str, kwargs: Mapping[str, Any]
    ) -> AuthProvider | None:
        """`provider`, or None when the client has none but the caller's extra
        headers bring the Authorization themselves; else an `InvalidInputError`."""
        if provider is None and any(
            name.lower() == "authorization" for name in kwargs.get("extra_headers") or ()
        ):
            return None
        return self._require(provider, what)

    @property
    def smartflows(self) -> SmartFlows:
        """Trigger SmartFlows from outside (``ip.smartflows.trigger``)."""
        from .resources.smartflows import SmartFlows

        return SmartFlows(self)

    @property
    def sms(self) -> Sms:
        """Send SMS/MMS, read delivery status, provision numbers, set webhooks."""
        from .resources.sms import Sms

        return Sms(self)

    @property
    def agents(self) -> Agents:
        """SmartCommunicator agents: list, get, onboard, update, offboard."""
        from .resources.agents import Agents

        return Agents(self)

    def __repr__(self) -> str:
        auth = type(self._v4_auth).__name__ if self._v4_auth else "none"
        return (
            f"AsyncIntelePeer(api={redact_url(self.urls.api)!r}, auth={auth}, "
            f"customer_id={self.customer_id!r}, timeout={self.timeout.total:g}s, "
            f"max_retries={self.max_retries})"
        )


class AsyncYay(_BaseClient):
    """Client for the Yay.com VoIP API (call flows).

    Every request carries ``X-Auth-Reseller``, ``X-Auth-User`` and
    ``X-Auth-Password`` (and ``X-Auth-For`` with `act_for`, to act for a
    sub-account). Credentials come all from arguments or all from the
    environment (``YAY_RESELLER``, ``YAY_USER``, ``YAY_PASSWORD``, and then
    ``YAY_ACT_FOR``), never mixed: with explicit credentials, only an explicit
    `act_for` is used, and ``act_for=""`` turns it off in either case.
    ``YAY_BASE_URL`` is the fallback for `base_url`. Yay.com charges per call,
    so creates are never retried after they may have arrived.
    """

    def __init__(
        self,
        *,
        reseller: str | None = None,
        user: str | None = None,
        password: str | None = None,
        act_for: str | None = None,
        base_url: str | None = None,
        timeout: float | Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportName = "httpx",
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    ) -> None:
        explicit = [v is not None for v in (reseller, user, password)]
        if any(explicit) and not all(explicit):
            raise InvalidInputError(
                "reseller, user and password go together: pass all three, or none"
                " to read YAY_RESELLER, YAY_USER and YAY_PASSWORD"
            )
        if not any(explicit):
            reseller, user, password = _env("YAY_RESELLER"), _env("YAY_USER"), _env("YAY_PASSWORD")
            if act_for is None:
                act_for = _env("YAY_ACT_FOR")
            missing = [
                n
                for n, v in (("reseller", reseller), ("user", user), ("password", password))
                if not v
            ]
            if missing:
                raise InvalidInputError(f"AsyncYay needs {', '.join(missing)} (or YAY_* variables)")
        assert reseller is not None and user is not None and password is not None
        for name, value in (("reseller", reseller), ("user", user), ("password", password)):
            validate_credential(value, name, in_header=True)
        if act_for:
            validate_credential(act_for, "act_for", in_header=True)
        base = base_url or _env("YAY_BASE_URL") or "https://api.yay.com"
        if not base.startswith(("http://", "https://")):
            raise InvalidInputError("base_url must be an http(s) URL")
        self.base_url = base.rstrip("/")
        self.act_for = act_for or None
        headers: dict[str, Secret | str] = {
            "X-Auth-Reseller": reseller,
            "X-Auth-User": user,
            "X-Auth-Password": Secret(password),
        }
        if self.act_for:
            headers["X-Auth-For"] = self.act_for
        self._auth = StaticHeaders(headers)
        self._init_core(
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client,
            transport=transport,
            max_in_flight=max_in_flight,
        )

    @property
    def callflows(self) -> CallFlows:
        """Yay.com call flows: list, get, create, update, delete, next extension."""
        from .resources.callflows import CallFlows

        return CallFlows(self)

    def _yay(self, method: str, path: str, **kwargs: Any) -> Coroutine[Any, Any, Response]:
        """A Yay.com call; an error ``status_code`` in the envelope counts as the
        HTTP status (for retries and errors alike), even under HTTP 2xx."""
        return self._request(
            method, f"{self.base_url}{path}", auth=self._auth, envelope=True, **kwargs
        )

    def __repr__(self) -> str:
        return (
            f"AsyncYay(base_url={redact_url(self.base_url)!r}, act_for={self.act_for!r}, "
            f"timeout={self.timeout.total:g}s, max_retries={self.max_retries})"
        )
