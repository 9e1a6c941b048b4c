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
import ssl
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
    """httpx's own choice of pool (or proxy) for a URL. Private to httpx, so None
    if it ever goes: requests then take the public path, ``AsyncClient.send``."""
    pick = getattr(client, "_transport_for_url", None)
    return pick if callable(pick) else None


def _httpx_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    timeout: Mapping[str, float],
    to_pool: bool,
) -> httpx.Request:
    """The request as httpx's client would build it (userinfo as Basic auth when it
    goes straight `to_pool`); `unsendable_url` when it cannot be encoded."""
    target = _httpx_target(url) if to_pool else (url, None)
    if target is None:
        raise unsendable_url()
    wire_headers = {"Accept-Encoding": "gzip, deflate", **headers}
    if target[1] is not None:
        wire_headers["Authorization"] = target[1]
    try:
        return httpx.Request(
            method, target[0], headers=wire_headers, content=body, extensions={"timeout": timeout}
        )
    except (httpx.InvalidURL, UnicodeError):
        raise unsendable_url() from None


#: Connections per pool of the SDK's own httpx clients (see `HttpxTransport`).
POOL_SHARD_SIZE = 4

_Pool = tuple[httpx.AsyncClient, Callable[[httpx.URL], httpx.AsyncBaseTransport] | None]


class HttpxTransport:
    """The default transport: pooled httpx connections.

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

    Without a client passed in, the `pool_size` connections are split into
    httpx clients of `POOL_SHARD_SIZE` connections each, made as the
    concurrency first needs them (one, for calls made one at a time), sharing
    one TLS context. Why: httpcore scans every connection of a pool, some
    checks in a loop nested in another, each time a request is added or an
    answer closed; with all 64 connections in one pool that scan was 40% of a
    call's CPU at concurrency 64, and in pools of 4 it is noise (``make bench``,
    README "Performance"). Each request takes a free connection slot, whose
    pool then has a connection for it (the core's `InFlightLimit` keeps the
    requests in flight within `pool_size`); the slot freed last is taken
    first, so a connection just released is the one reused.
    """

    def __init__(self, client: httpx.AsyncClient | None = None, *, pool_size: int = 64) -> None:
        self._user_pool: _Pool | None = None if client is None else (client, _pool_chooser(client))
        self._pool_size = pool_size
        self._closed = False
        #: Our own clients, made on first use, so that building an SDK client
        #: imports no connection machinery (httpcore, and trio if present).
        self._pools: list[_Pool] = []
        shards = -(-pool_size // POOL_SHARD_SIZE)
        #: A stack of free connection slots, each the index of its pool: the
        #: first pool's on top, so low concurrency never makes a second one.
        self._free_slots = [
            shard for shard in reversed(range(shards)) for _ in range(self._shard_size(shard))
        ]
        self._tls: ssl.SSLContext | None = None

    def _shard_size(self, shard: int) -> int:
        """Connections of pool number `shard`: as many as its slots, so none waits."""
        return min(POOL_SHARD_SIZE, self._pool_size - shard * POOL_SHARD_SIZE)

    def _pool(self, shard: int) -> _Pool:
        """Our own client number `shard` (and those before it), made if need be."""
        while len(self._pools) <= shard:
            size = self._shard_size(len(self._pools))
            if self._tls is None:
                # As each httpx client would make it (certifi, or SSL_CERT_FILE/_DIR
                # from the environment), once instead of once a pool.
                try:
                    self._tls = httpx.create_ssl_context()
                except OSError:  # ssl.SSLError too: an unreadable or invalid CA file
                    raise TransportFailure(
                        Failure.NOT_SENT,
                        timed_out=False,
                        reason="the TLS settings could not be loaded"
                        " (check SSL_CERT_FILE and SSL_CERT_DIR)",
                        local=True,
                    ) from None
            # Pools never wait (see the class docstring), and every connection in
            # use can be kept alive for the next request.
            limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
            client = httpx.AsyncClient(limits=limits, verify=self._tls)
            self._pools.append((client, _pool_chooser(client)))
        return self._pools[shard]

    @property
    def clients(self) -> list[httpx.AsyncClient]:
        """The httpx clients in use: the one passed in, or ours made so far."""
        if self._user_pool is not None:
            return [self._user_pool[0]]
        return [client for client, _ in self._pools]

    @property
    def is_closed(self) -> bool:
        if self._user_pool is not None:
            return self._user_pool[0].is_closed
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        pools, self._pools = self._pools, []
        for client, _ in pools:
            await client.aclose()

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
        # No slot free means more in flight than `pool_size` (a limit shared with
        # more than this transport): the first pool queues the request.
        slot = None if self._user_pool or not self._free_slots else self._free_slots.pop()
        try:
            client, pool_for = self._user_pool or self._pool(slot or 0)
            # After making a pool (its TLS context takes milliseconds): the time is
            # what is left to send in.
            remaining = time_left_to_send(headers, deadline)
            connect = min(connect_timeout, remaining)
            timeout = {"connect": connect, "read": remaining, "write": remaining, "pool": remaining}
            request = _httpx_request(method, url, headers, body, timeout, pool_for is not None)
            marker = _SDK_REQUEST.set(True)
            try:
                with anyio.move_on_after(remaining + BACKSTOP_GRACE):
                    return await self._exchange(client, pool_for, request, method, url, headers)
            finally:
                _SDK_REQUEST.reset(marker)
        finally:
            if slot is not None:
                self._free_slots.append(slot)
        raise TransportFailure(
            Failure.MAYBE_SENT, timed_out=True, reason="no complete answer within the budget"
        )

    @staticmethod
    async def _open(
        client: httpx.AsyncClient,
        pool_for: Callable[[httpx.URL], httpx.AsyncBaseTransport] | None,
        request: httpx.Request,
    ) -> httpx.Response:
        if pool_for is None:
            # The public path: no auth of the client's (auth=None) and no redirects,
            # but its event hooks run (what they raise is handled in `_exchange`).
            return await client.send(request, stream=True, auth=None, follow_redirects=False)
        response = await pool_for(request.url).handle_async_request(request)
        response.request = request
        return response

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        pool_for: Callable[[httpx.URL], httpx.AsyncBaseTransport] | None,
        request: httpx.Request,
        method: str,
        url: str,
        headers: Mapping[str, str],
    ) -> RawResponse:
        failure: TransportFailure | None = None
        try:
            response = await self._open(client, pool_for, request)
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
