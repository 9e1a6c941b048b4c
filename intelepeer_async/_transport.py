"""The transport seam: send one request, get its raw answer or a classified failure.

The core (`_http.py`) owns policy: auth, budget, retries, error mapping. A
transport owns the wire, and answers one question the core cannot: when a
request fails, did any of it reach the server? That is knowable only here,
from the failure's kind, so every transport classifies the same way:

* never sent (`Failure.NOT_SENT`): connect refused, DNS failure, connect
  timeout, no free pooled connection in time, a request refused locally
  before any byte was written (an illegal header value, a bad URL);
* maybe sent (`Failure.MAYBE_SENT`): anything after the request started to be
  written: write/read errors and timeouts, a reset, a broken answer, or the
  last-resort cut-off at the end of the budget.

A failure carries a short reason without secrets: no header value, no query
string, no userinfo, and never the underlying exception (whose text may hold
a header value). `HttpxTransport` is the default; a faster one may sit beside
it with exactly this contract.
"""

from __future__ import annotations

import logging
import re
from base64 import b64encode
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

import anyio
import httpx

from ._redact import redact_headers, redact_url
from ._retry import Failure
from .errors import ClientClosedError

__all__ = [
    "BACKSTOP_GRACE",
    "HttpxTransport",
    "RawResponse",
    "RequestInfo",
    "Transport",
    "TransportFailure",
    "header_problem",
    "time_left_to_send",
    "unsendable_url",
]

#: The transport's own timeouts (pool, connect, read, write) end at the call's
#: deadline; this much later a last-resort cut-off ends whatever is still
#: running (a server trickling bytes). The gap lets a transport's classified
#: timeout (connect or pool: never sent) win over the cut-off (maybe sent).
BACKSTOP_GRACE = 0.25


@dataclass(frozen=True)
class RequestInfo:
    """What was sent, as it may be shown: the URL and headers redacted."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, repr=False)
class RawResponse:
    """An answer as received. `content` is the body after content decoding.

    `body_error` says the body arrived but could not be decoded (a broken gzip
    stream): the status is real, the content is empty.
    """

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    reason_phrase: str = ""
    body_error: str | None = None
    request: RequestInfo | None = None

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}]>"


class TransportFailure(Exception):
    """Internal: the request got no answer. Never escapes the core.

    `local` marks a request refused here before sending (an illegal header,
    an unusable URL): never sent, and sending it again cannot help.
    """

    def __init__(
        self, failure: Failure, *, timed_out: bool, reason: str, local: bool = False
    ) -> None:
        self.failure = failure
        self.timed_out = timed_out
        self.reason = reason
        self.local = local
        super().__init__(reason)


class Transport(Protocol):
    """Sends one request. Implementations must classify failures as described above."""

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        deadline: float,
        connect_timeout: float,
    ) -> RawResponse:
        """The answer, or `TransportFailure`; done by `deadline` (anyio clock) + grace."""
        ...

    @property
    def is_closed(self) -> bool: ...

    async def aclose(self) -> None: ...


# RFC 9110: field names are tokens; values are visible ASCII, with spaces and tabs
# only between visible characters (h11 refuses the rest before writing anything).
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FIELD_VALUE = re.compile(r"(?:[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*)?")


def header_problem(headers: Mapping[str, str]) -> str | None:
    """What makes `headers` unsendable, naming the header but never its value."""
    for name, value in headers.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            return "a header name is not a valid HTTP token"
        if not isinstance(value, str) or not _FIELD_VALUE.fullmatch(value):
            return (
                f"header {name} has a value with control or non-ASCII characters,"
                " or spaces at either end"
            )
    return None


def time_left_to_send(headers: Mapping[str, str], deadline: float) -> float:
    """Seconds left before `deadline`, after the checks every transport makes
    before writing: `TransportFailure` (never sent) for an unsendable header or
    a budget already spent."""
    problem = header_problem(headers)
    if problem is not None:
        raise TransportFailure(Failure.NOT_SENT, timed_out=False, reason=problem, local=True)
    remaining = deadline - anyio.current_time()
    if remaining <= 0:
        raise TransportFailure(
            Failure.NOT_SENT, timed_out=True, reason="no time left in the budget"
        )
    return remaining


def unsendable_url() -> TransportFailure:
    """The failure for a URL (or header) the transport cannot encode: never sent."""
    return TransportFailure(
        Failure.NOT_SENT,
        timed_out=False,
        reason="the URL or a header could not be encoded",
        local=True,
    )


# -- logging: httpx's INFO line for the SDK's own requests ------------------

_SDK_REQUEST: ContextVar[bool] = ContextVar("intelepeer_async_sdk_request", default=False)


class _SdkRequestLogFilter(logging.Filter):
    """httpx logs every request at INFO with its full URL: query strings (phone
    numbers) and userinfo (passwords). For requests the SDK makes, and only
    those (a context variable marks them), the record becomes DEBUG with the
    URL redacted, or is dropped when the logger is not enabled for DEBUG. The
    user's other httpx traffic is left exactly as it was.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not _SDK_REQUEST.get():
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(arg) for arg in record.args)
        return True


def _redacted_arg(arg: object) -> object:
    if isinstance(arg, httpx.URL) or (isinstance(arg, str) and "://" in arg):
        return redact_url(str(arg))
    return arg


def _install_log_filter() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _SdkRequestLogFilter) for f in httpx_logger.filters):
        httpx_logger.addFilter(_SdkRequestLogFilter())


_install_log_filter()


# -- httpx -------------------------------------------------------------------

# Refused here, before writing: retrying cannot help.
_LOCAL: tuple[type[Exception], ...] = (
    httpx.LocalProtocolError,  # h11 refused the request before writing it
    httpx.UnsupportedProtocol,
)
_NEVER_SENT: tuple[type[Exception], ...] = (
    *_LOCAL,
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,  # the proxy refused the tunnel: the origin saw nothing
)

_REASONS: dict[type[Exception], str] = {
    httpx.PoolTimeout: "no pooled connection became free in time",
    httpx.ConnectTimeout: "connecting took too long",
    httpx.ConnectError: "could not connect",
    httpx.LocalProtocolError: "the request was refused before it was written",
    httpx.UnsupportedProtocol: "the URL's scheme is not supported",
    httpx.ProxyError: "the proxy refused the connection",
    httpx.WriteTimeout: "sending the request took too long",
    httpx.ReadTimeout: "no answer in time",
    httpx.RemoteProtocolError: "the server broke the connection or the protocol",
}


def _classify(exc: Exception) -> TransportFailure:
    failure = Failure.NOT_SENT if isinstance(exc, _NEVER_SENT) else Failure.MAYBE_SENT
    label = next((text for cls, text in _REASONS.items() if isinstance(exc, cls)), None)
    # The type name only: an httpx message can quote a header value.
    reason = f"{label or 'the connection failed'} ({type(exc).__name__})"
    return TransportFailure(
        failure,
        timed_out=isinstance(exc, httpx.TimeoutException),
        reason=reason,
        local=isinstance(exc, _LOCAL),
    )


@lru_cache(maxsize=1024)
def _httpx_target(url: str) -> tuple[httpx.URL, str | None] | None:
    """The URL to send (without userinfo) and the Basic credentials it carried, as
    httpx's client would send them; None when it cannot be sent. Cached: parsing
    is a tenth of a request's cost here, and most calls repeat a URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, UnicodeError, TypeError):
        return None
    if not parsed.userinfo:
        return parsed, None
    pair = f"{parsed.username}:{parsed.password}".encode()
    return parsed.copy_with(username=None, password=None), "Basic " + b64encode(pair).decode()


def _pool_chooser(
    client: httpx.AsyncClient,
) -> Callable[[httpx.URL], httpx.AsyncBaseTransport] | None:
    pick = getattr(client, "_transport_for_url", None)
    return pick if callable(pick) else None


class HttpxTransport:
    """The default transport: one pooled `httpx.AsyncClient`.

    A client passed in is used for its connection settings (pool limits,
    proxies, TLS, its transport) and never closed here. Its default headers,
    query parameters, cookies, base URL, `auth` and event hooks are not
    applied: requests are built here, with exactly the headers the core gives,
    and never follow a redirect, so credentials never follow one to another
    host (and a proxy's `auth=` never replaces the SDK's ``Authorization``).

    The transport skips ``AsyncClient.send`` (cookie extraction, auth, event
    hooks and redirect handling, the INFO log line: a tenth of each request's
    CPU, none of it wanted) and hands each request to the pool the client
    would pick for the URL, proxies (from the environment, for ours) included.
    """

    def __init__(self, client: httpx.AsyncClient | None = None, *, pool_size: int = 64) -> None:
        self._owns_client = client is None
        self._client = client
        self._pool_size = pool_size
        self._closed = False
        # httpx's own choice of pool (or proxy) for a URL: private, so the public
        # path (`AsyncClient.send`) remains if it ever goes.
        self._pool_for: Callable[[httpx.URL], httpx.AsyncBaseTransport] | None = None
        if client is not None:
            self._pool_for = _pool_chooser(client)

    @property
    def client(self) -> httpx.AsyncClient:
        """The httpx client; ours is made on first use, so that building an SDK
        client imports no connection machinery (httpcore, and trio if present)."""
        if self._client is None:
            # Sized to the core's in-flight limit, so no request ever waits in
            # httpx's pool (whose waiters cost O(n) each) and every connection
            # in use can be kept alive for the next request.
            size = self._pool_size
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            self._client = httpx.AsyncClient(limits=limits)
            self._pool_for = _pool_chooser(self._client)
        return self._client

    @property
    def is_closed(self) -> bool:
        return self._closed if self._client is None else self._client.is_closed

    async def aclose(self) -> None:
        self._closed = True
        if self._owns_client and self._client is not None:
            await self._client.aclose()

    async def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        *,
        deadline: float,
        connect_timeout: float,
    ) -> RawResponse:
        if self.is_closed:
            raise ClientClosedError
        client = self.client
        remaining = time_left_to_send(headers, deadline)
        connect = min(connect_timeout, remaining)
        timeout = {"connect": connect, "read": remaining, "write": remaining, "pool": remaining}
        target = _httpx_target(url) if self._pool_for is not None else (url, None)
        request = None
        if target is not None:
            wire_headers = {"Accept-Encoding": "gzip, deflate", **headers}
            if target[1] is not None:
                wire_headers["Authorization"] = target[1]
            try:
                request = httpx.Request(
                    method,
                    target[0],
                    headers=wire_headers,
                    content=body,
                    extensions={"timeout": timeout},
                )
            except (httpx.InvalidURL, UnicodeError):
                request = None
        if request is None:
            raise unsendable_url()
        marker = _SDK_REQUEST.set(True)
        try:
            with anyio.move_on_after(remaining + BACKSTOP_GRACE):
                return await self._exchange(client, request, method, url, headers)
        finally:
            _SDK_REQUEST.reset(marker)
        raise TransportFailure(
            Failure.MAYBE_SENT, timed_out=True, reason="no complete answer within the budget"
        )

    async def _open(self, client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
        if self._pool_for is None:
            # The public path: no auth of the client's (auth=None) and no redirects,
            # but its event hooks run (what they raise is handled in `_exchange`).
            return await client.send(request, stream=True, auth=None, follow_redirects=False)
        response = await self._pool_for(request.url).handle_async_request(request)
        response.request = request
        return response

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        method: str,
        url: str,
        headers: Mapping[str, str],
    ) -> RawResponse:
        failure: TransportFailure | None = None
        try:
            response = await self._open(client, request)
        except httpx.TransportError as exc:
            failure = _classify(exc)
        except Exception as exc:  # never raw, never its text
            # Not a network failure: an error inside the HTTP stack (h11 refusing
            # what it was asked to write, after part of it went out) or raised by
            # a user client's event hook. Whatever it was, the request may have
            # left, and its message may quote the URL or a header: the type only.
            failure = TransportFailure(
                Failure.MAYBE_SENT,
                timed_out=False,
                reason=f"the HTTP library or an event hook failed ({type(exc).__name__})",
            )
        if failure is not None:
            raise failure
        body_error: str | None = None
        content = b""
        try:
            content = await response.aread()
        except httpx.DecodingError:
            body_error = (
                f"the body could not be decoded "
                f"(Content-Encoding: {response.headers.get('content-encoding', 'none')})"
            )
        except httpx.TransportError as exc:
            # The answer had started: the request was processed, whatever its outcome.
            failure = _classify(exc)
            failure.failure = Failure.MAYBE_SENT
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        if failure is not None:
            raise failure
        return RawResponse(
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=content,
            reason_phrase=response.reason_phrase,
            body_error=body_error,
            request=RequestInfo(method, redact_url(url), redact_headers(headers)),
        )
