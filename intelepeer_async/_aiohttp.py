"""`AiohttpTransport`: the fast transport for asyncio, behind the same seam as httpx.

Chosen with ``AsyncIntelePeer(..., transport="aiohttp")`` after
``pip install 'intelepeer-async[aiohttp]'``. It speaks to aiohttp directly
rather than stacking httpx on top of it: measured at concurrency 64 on the
simulator (see the README's Performance section), httpx's own request and
response machinery, not the socket layer, is where the time goes, so only a
native transport gets aiohttp's speed.

The contract is `_transport.py`'s, to the letter: the same failure
classification (never sent / maybe sent, refused locally), the call's deadline
for pool, connect and read with the same last-resort cut-off, no redirects, no
cookies, proxies from the environment as httpx reads them (`_EnvProxies`) but
never credentials from ``.netrc`` (aiohttp's ``trust_env`` would add them to
requests), the body decoded here as
httpx decodes it (so a broken gzip body is the same `body_error`), userinfo in
a URL sent as Basic credentials as httpx sends it, and no exception text in
any failure. aiohttp's own resend of an idempotent request on a stale
keep-alive connection is turned off: the core's retry policy is the only one.

asyncio only: aiohttp has no trio support, so using it under trio raises
`InvalidInputError` before anything is sent. Its session is bound to the event
loop that first uses it, as aiohttp requires.
"""

from __future__ import annotations

import asyncio
import base64
import math
import zlib
from collections.abc import Mapping
from functools import lru_cache
from urllib.request import getproxies

import anyio
import sniffio

from ._redact import redact_headers, redact_url
from ._retry import Failure
from ._transport import (
    BACKSTOP_GRACE,
    RawResponse,
    RequestInfo,
    TransportFailure,
    time_left_to_send,
    unsendable_url,
)
from .errors import ClientClosedError, InvalidInputError

try:
    import aiohttp
    from yarl import URL
except ImportError:  # pragma: no cover - exercised by a test that hides aiohttp
    aiohttp = None  # type: ignore[assignment]

__all__ = ["AiohttpTransport"]

_INSTALL = "transport='aiohttp' needs aiohttp: pip install 'intelepeer-async[aiohttp]'"


def _require_aiohttp() -> None:
    if aiohttp is None:
        raise InvalidInputError(_INSTALL)


@lru_cache(maxsize=1024)
def _target(url: str) -> tuple[URL, str | None] | None:
    """The URL to send (without userinfo) and the Basic credentials it carried;
    None when it cannot be sent. Cached: most calls repeat a URL."""
    try:
        parsed = URL(url)
    except (ValueError, TypeError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.raw_host:
        return None
    if parsed.raw_user is None and parsed.raw_password is None:
        return parsed, None
    # As httpx does: userinfo becomes Basic credentials, over any Authorization given.
    pair = f"{parsed.user or ''}:{parsed.password or ''}".encode()
    return parsed.with_user(None), "Basic " + base64.b64encode(pair).decode("ascii")


def _decoded(content: bytes, encoding: str) -> bytes:
    """`content` decoded as httpx decodes it: gzip and deflate, others left alone."""
    for name in reversed([part.strip().lower() for part in encoding.split(",")]):
        if name in ("gzip", "x-gzip"):
            inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
            content = inflater.decompress(content) + inflater.flush()
        elif name == "deflate":
            try:
                inflater = zlib.decompressobj()
                content = inflater.decompress(content) + inflater.flush()
            except zlib.error:
                inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                content = inflater.decompress(content) + inflater.flush()
    return content


def _classify(exc: BaseException) -> TransportFailure:
    # Checked most specific first: ConnectionTimeoutError is a ServerTimeoutError.
    local = isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        failure, label = Failure.NOT_SENT, "connecting or a pooled connection took too long"
    elif isinstance(exc, aiohttp.ClientProxyConnectionError):
        failure, label = Failure.NOT_SENT, "the proxy refused the connection"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        failure, label = Failure.NOT_SENT, "could not connect"
    elif local:
        failure, label = Failure.NOT_SENT, "the request was refused before it was written"
    elif isinstance(exc, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        failure, label = Failure.MAYBE_SENT, "no answer in time"
    elif isinstance(
        exc,
        aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError | aiohttp.ClientResponseError,
    ):
        failure, label = Failure.MAYBE_SENT, "the server broke the connection or the protocol"
    else:
        failure, label = Failure.MAYBE_SENT, "the connection failed"
    return TransportFailure(
        failure,
        timed_out=isinstance(exc, asyncio.TimeoutError),
        # The type name only: an exception's text can quote the URL or a header.
        reason=f"{label} ({type(exc).__name__})",
        local=local,
    )


class _EnvProxies:
    """The proxies the environment names, read once as httpx reads them when its
    client is made: ``HTTP_PROXY``/``HTTPS_PROXY`` by the target's scheme, else
    ``ALL_PROXY``, none for a host in ``NO_PROXY`` (``*`` for every host). A
    proxy URL's userinfo becomes its Basic credentials; ``.netrc`` is never read.
    """

    def __init__(self) -> None:
        found = getproxies()
        self._by_scheme: dict[str, tuple[URL, dict[str, str] | None]] = {}
        # NO_PROXY as httpx reads it (curl's rules): "example.com" is that host and
        # its subdomains, ".example.com" its subdomains only, an IP or "localhost"
        # itself; "scheme://host" only for that scheme.
        self._no_proxy: list[tuple[str | None, str]] = []
        for entry in (part.strip().lower() for part in found.get("no", "").split(",")):
            if entry == "*":
                return
            scheme, _, host = entry.rpartition("://")
            if host:
                self._no_proxy.append((scheme or None, host.strip("[]")))
        for scheme in ("http", "https", "all"):
            value = found.get(scheme)
            if not value:
                continue
            try:
                proxy = URL(value if "://" in value else f"http://{value}")
            except (ValueError, TypeError):
                # Named, never quoted: the value may hold the proxy's password.
                raise InvalidInputError(
                    f"the {scheme.upper()}_PROXY environment variable is not a URL"
                ) from None
            auth = None
            if proxy.user is not None:
                pair = f"{proxy.user}:{proxy.password or ''}".encode()
                auth = {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
            self._by_scheme[scheme] = (proxy.with_user(None), auth)

    def __bool__(self) -> bool:
        return bool(self._by_scheme)

    def for_url(self, url: URL) -> tuple[URL | None, dict[str, str] | None]:
        """The proxy (and the headers with its credentials) for `url`, or None, None."""
        chosen = self._by_scheme.get(url.scheme) or self._by_scheme.get("all")
        if chosen is None or self._bypassed(url.scheme, (url.raw_host or "").lower()):
            return None, None
        return chosen

    def _bypassed(self, scheme: str, host: str) -> bool:
        for only_scheme, name in self._no_proxy:
            if only_scheme is not None and only_scheme != scheme:
                continue
            if name.startswith("."):
                if host.endswith(name):
                    return True
            elif host == name or host.endswith("." + name):
                return True
        return False


class AiohttpTransport:
    """One pooled `aiohttp.ClientSession`, made on first use in the running loop."""

    def __init__(self, *, pool_size: int = 64) -> None:
        _require_aiohttp()
        self._pool_size = pool_size
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._proxies: _EnvProxies | None = None  # read with the session

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _session_here(self) -> aiohttp.ClientSession:
        if sniffio.current_async_library() != "asyncio":
            raise InvalidInputError(
                "transport='aiohttp' runs under asyncio only; under trio use the default"
                " transport (leave transport unset); the call was never sent"
            )
        if self._closed:
            raise ClientClosedError
        loop = asyncio.get_running_loop()
        if self._session is None:
            self._proxies = _EnvProxies()
            self._session = self._new_session()
            self._loop = loop
        elif self._loop is not loop:
            raise InvalidInputError(
                "a client with transport='aiohttp' is bound to the event loop that first"
                " used it; make one client per event loop"
            )
        return self._session

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._pool_size,
            limit_per_host=0,
            # Never round a timeout up to a whole second: the deadline is exact.
            timeout_ceil_threshold=math.inf,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # decoded in `_decoded`, exactly as httpx does
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )
        # aiohttp resends an idempotent request once on a stale keep-alive
        # connection; the core's policy must be the only one that resends.
        session._retry_connection = False
        return session

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
        session = self._session_here()
        remaining = time_left_to_send(headers, deadline)
        target = _target(url)
        if target is None:
            raise unsendable_url()
        parsed, basic = target
        wire_headers = {"Accept-Encoding": "gzip, deflate", **headers}
        if basic is not None:
            wire_headers["Authorization"] = basic
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=remaining,  # a pooled connection, or a new one, by the deadline
            sock_connect=min(connect_timeout, remaining),
            sock_read=remaining,
            ceil_threshold=math.inf,
        )
        info = RequestInfo(method, redact_url(url), redact_headers(headers))
        with anyio.move_on_after(remaining + BACKSTOP_GRACE):
            return await self._exchange(session, method, parsed, wire_headers, body, timeout, info)
        raise TransportFailure(
            Failure.MAYBE_SENT, timed_out=True, reason="no complete answer within the budget"
        )

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: URL,
        headers: dict[str, str],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        info: RequestInfo,
    ) -> RawResponse:
        failure: TransportFailure | None = None
        proxy, proxy_headers = self._proxies.for_url(url) if self._proxies else (None, None)
        if proxy_headers and url.scheme == "http":
            # Plain HTTP goes to the proxy as is (no CONNECT, where aiohttp puts
            # proxy_headers): its credentials ride on the request itself.
            headers = {**headers, **proxy_headers}
        try:
            response = await session.request(
                method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=timeout,
                proxy=proxy,
                proxy_headers=proxy_headers,
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            failure = _classify(exc)
        if failure is not None:
            raise failure
        content = b""
        try:
            content = await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            # The answer had started: the request was processed, whatever its outcome.
            failure = _classify(exc)
            failure.failure = Failure.MAYBE_SENT
        finally:
            if failure is None and response.connection is None:
                response.release()
            else:
                response.close()  # not put back in the pool: its state is unknown
        if failure is not None:
            raise failure
        merged: dict[str, str] = {}
        for name, value in response.headers.items():
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        body_error: str | None = None
        encoding = merged.get("content-encoding")
        if encoding:
            try:
                content = _decoded(content, encoding)
            except zlib.error:
                content = b""
                body_error = f"the body could not be decoded (Content-Encoding: {encoding})"
        return RawResponse(
            status_code=response.status,
            headers=merged,
            content=content,
            reason_phrase=response.reason or "",
            body_error=body_error,
            request=info,
        )
