"""The request loop: auth headers, time budget, retries, error mapping, logs.

Resources describe endpoints and call `HTTPCore.request`; the wire belongs to
a transport (`_transport.py`), which sends one request and answers with the
raw response or a classified failure (never sent / maybe sent). This module
encodes the JSON body once, builds the query string itself, and is the one
place that turns an answer into a result or an error (`interpret`), Yay's
200 envelope with an error ``status_code`` included.

Logging goes to the ``intelepeer_async`` logger: method, path, status, attempt
and elapsed time at DEBUG (paths can hold phone numbers, so they never appear
above DEBUG); retries at INFO with the method and reason only. Request bodies,
query strings, tokens and passwords are never logged.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import anyio

from ._auth import AuthProvider
from ._limit import DEFAULT_MAX_IN_FLIGHT, InFlightLimit
from ._redact import redact_url
from ._retry import Failure, RetryPolicy, backoff_delay, parse_retry_after, should_retry
from ._transport import HttpxTransport, RawResponse, Transport, TransportFailure, header_problem
from .errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    IntelePeerError,
    InvalidInputError,
    UnexpectedRedirectError,
    request_id_of,
    status_error,
)
from .types import Timeout

if TYPE_CHECKING:
    import httpx

__all__ = [
    "TRANSPORTS",
    "HTTPCore",
    "Response",
    "TransportName",
    "build_transport",
    "decode_body",
    "interpret",
    "with_query",
]

logger = logging.getLogger("intelepeer_async")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Statuses after which an earlier attempt may have taken effect: the server may
# have acted and then failed to answer. 429 and 503 refuse before acting.
_MAY_HAVE_ACTED = frozenset({500, 502, 504})


async def _sleep(seconds: float) -> None:
    # One seam for tests to observe back-off without waiting.
    await anyio.sleep(seconds)


@dataclass(frozen=True)
class Response:
    """A successful answer, decoded: `data` is JSON, text, or None for an empty body.

    `gone_after_retry` marks a DELETE whose retry found nothing (404) after an
    earlier attempt may already have deleted it: reported as deleted.
    """

    status_code: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    gone_after_retry: bool = False

    @property
    def request_id(self) -> str | None:
        return request_id_of(self.data, self.headers)

    def unreadable(self, what: str, *, succeeded: bool | None = None) -> APIResponseValidationError:
        """The typed error for an answer whose body is not what the API documents."""
        ok = 200 <= self.status_code < 300 if succeeded is None else succeeded
        return APIResponseValidationError(
            what,
            status_code=self.status_code,
            body=self.data,
            request_id=self.request_id,
            succeeded=ok,
        )


def decode_body(content: bytes) -> Any:
    """JSON when the body parses as JSON, else its text; None when empty."""
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", errors="replace")


def interpret(
    raw: RawResponse, *, envelope: bool = False
) -> tuple[int, Response, IntelePeerError | None]:
    """The one place an answer becomes a result or an error.

    Returns the effective status (what the retry policy sees), the decoded
    response, and the error to raise if the call ends here (None on success).
    With `envelope` (Yay.com), a JSON object whose ``status_code`` is an error
    counts as that status even under HTTP 2xx, for retries and errors alike.
    """
    data = None if raw.body_error else decode_body(raw.content)
    response = Response(raw.status_code, data, raw.headers)
    status = raw.status_code
    if envelope and 200 <= status < 300 and isinstance(data, Mapping):
        code = data.get("status_code")
        if isinstance(code, int) and not isinstance(code, bool) and code >= 400:
            status = code
    if 200 <= status < 300:
        if raw.body_error:
            return status, response, response.unreadable(raw.body_error)
        return status, response, None
    if 300 <= status < 400:
        target = redact_url(raw.headers.get("location", "")) or "nowhere"
        message = (
            f"redirected ({status}) to {target}; the SDK does not follow redirects, which"
            " would carry credentials to another host: point it at the final URL"
        )
        return (
            status,
            response,
            UnexpectedRedirectError(
                message,
                status_code=status,
                body=data,
                request_id=response.request_id,
                response=raw,
            ),
        )
    error = status_error(status, data, headers=raw.headers, reason=raw.reason_phrase, response=raw)
    return status, response, error


def _encode_json(body: object) -> bytes:
    try:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        problem = "the request body holds NaN or infinity, which JSON cannot carry"
    except TypeError:
        problem = "the request body holds a value of a type JSON cannot carry"
    else:
        return text.encode("utf-8")
    # Raised outside the handler, so no exception chain carries the body's values.
    raise InvalidInputError(problem)


def with_query(url: str, params: Mapping[str, str] | None) -> str:
    """`url` with `params` appended, every reserved character encoded (``+`` is ``%2B``)."""
    if not params:
        return url
    joiner = "&" if urlsplit(url).query else "?"
    return url + joiner + urlencode(params, quote_via=quote, safe="")


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidInputError("extra_headers must be a mapping of header name to value")
    problem = header_problem(headers)
    if problem is not None:
        raise InvalidInputError(f"extra_headers: {problem}")
    return dict(headers)


TransportName = Literal["httpx", "aiohttp"]
TRANSPORTS: tuple[TransportName, ...] = ("httpx", "aiohttp")


def build_transport(name: str, http_client: httpx.AsyncClient | None, pool_size: int) -> Transport:
    """The transport called `name`, its pool sized to `pool_size`.

    ``"httpx"`` (the default) runs under asyncio and trio; ``"aiohttp"`` is the
    faster one for asyncio, from the ``aiohttp`` extra (imported only here).
    """
    if name == "httpx":
        return HttpxTransport(http_client, pool_size=pool_size)
    if name != "aiohttp":
        raise InvalidInputError(f"transport must be one of {', '.join(TRANSPORTS)}")
    if http_client is not None:
        raise InvalidInputError(
            "http_client is an httpx client: it cannot be combined with transport='aiohttp'"
        )
    try:
        from ._aiohttp import AiohttpTransport
    except ImportError:
        missing = True
    else:
        missing = False
    if missing:
        raise InvalidInputError(
            "transport='aiohttp' needs aiohttp: pip install 'intelepeer-async[aiohttp]'"
        )
    return AiohttpTransport(pool_size=pool_size)


class HTTPCore:
    """Sends requests through one transport under the retry policy.

    A `http_client` passed in is wrapped by the httpx transport and never
    closed here; a transport or client we create is closed by `aclose`.
    `copy` makes a sibling sharing the same transport and in-flight limit (for
    ``with_options``); only the original closes the transport.

    At most `max_in_flight` requests are with the transport at once (see
    `InFlightLimit`); a call holds its slot only while its request is on the
    wire, never while it logs in or backs off, so a login can always get one.
    """

    def __init__(
        self,
        *,
        timeout: Timeout,
        policy: RetryPolicy,
        http_client: httpx.AsyncClient | None = None,
        transport: Transport | None = None,
        headers: Mapping[str, str] | None = None,
        transport_name: str = "httpx",
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        limit: InFlightLimit | None = None,
    ) -> None:
        self.timeout = timeout
        self.policy = policy
        self._limit = limit if limit is not None else InFlightLimit(max_in_flight)
        # Closing an HttpxTransport never closes a client the user passed in.
        self._owns_transport = transport is None
        if transport is None:
            transport = build_transport(transport_name, http_client, self._limit.limit)
        self._transport = transport
        self._headers = {"Accept": "application/json", **(headers or {})}
        # Built once, not per call: the headers of a request with a JSON body.
        self._json_headers = {**self._headers, "Content-Type": "application/json"}

    def copy(
        self, *, timeout: Timeout | None = None, policy: RetryPolicy | None = None
    ) -> HTTPCore:
        """A core with other settings on the same transport, which it does not own."""
        return HTTPCore(
            timeout=timeout or self.timeout,
            policy=policy or self.policy,
            transport=self._transport,
            headers=self._headers,
            limit=self._limit,
        )

    @property
    def transport(self) -> Transport:
        return self._transport

    @property
    def limit(self) -> InFlightLimit:
        return self._limit

    @property
    def is_closed(self) -> bool:
        return self._transport.is_closed

    async def aclose(self) -> None:
        if self._owns_transport:
            await self._transport.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: object = None,
        auth: AuthProvider | None = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
        deadline: float | None = None,
        envelope: bool = False,
    ) -> Response:
        """Send one API call; retry as the policy allows; raise on any error.

        `idempotent` defaults from the method (GET/PUT/DELETE yes, POST/PATCH no).
        Pass True for a POST that is safe to repeat (a login, setting a webhook).
        `headers` are the caller's extra headers: sent as given, over the SDK's
        own; when they carry every header `auth` would set, the client's
        credentials are not used for this call (no login, no refresh).
        `timeout` overrides the budget for this call; `deadline` (anyio clock)
        is an absolute one, used by logins that must finish within the budget
        of the call that needed them.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        budget = Timeout.coerce(timeout) if timeout is not None else self.timeout
        if deadline is None:
            deadline = anyio.current_time() + budget.total
        extra = _checked_headers(headers)
        if auth is not None and auth.header_names() <= {name.lower() for name in extra}:
            auth = None  # the caller brought every credential header: no login, no refresh
        full_url = with_query(url, params)
        body = _encode_json(json_body) if json_body is not None else None
        base_headers = self._json_headers if body is not None else self._headers
        parts = urlsplit(url)
        host, path = parts.hostname or "the server", parts.path

        retries_done = 0
        resent_after_401 = False
        earlier_may_have_acted = False
        attempt = 0
        while True:
            attempt += 1
            token = await auth.token(deadline) if auth is not None else ""
            if deadline - anyio.current_time() <= 0:
                raise APITimeoutError(
                    f"{method} {host} timed out (budget {budget.total:g}s) before it could be"
                    " sent; the request never reached the server",
                    may_have_been_processed=False,
                )
            started = anyio.current_time()
            # The headers are merged only once the call holds a slot: a queued call
            # keeps as little as it can (thousands may queue at once).
            result = await self._send(
                method,
                full_url,
                (base_headers, auth, token, extra),
                body,
                deadline,
                budget.connect,
            )
            elapsed = anyio.current_time() - started

            failure: TransportFailure | None = None
            if isinstance(result, TransportFailure):
                failure = result
                outcome: int | Failure = failure.failure
                response = None
                error: IntelePeerError | None = None
                retry_after = None
            else:
                outcome, response, error = interpret(result, envelope=envelope)
                retry_after = parse_retry_after(result.headers)
            logger.debug(
                "%s %s -> %s (attempt %d, %.3fs)",
                method,
                path,
                outcome.value if isinstance(outcome, Failure) else outcome,
                attempt,
                elapsed,
            )

            if response is not None and error is None:
                return response
            if (
                response is not None
                and method == "DELETE"
                and outcome == 404
                and earlier_may_have_acted
            ):
                # An earlier attempt may have deleted it; the retry found it gone.
                return Response(404, response.data, response.headers, gone_after_retry=True)

            if outcome == 401 and auth is not None and not resent_after_401:
                resent_after_401 = True
                if auth.refused(token, getattr(error, "message", None)):
                    # Refused credentials mean nothing ran: safe to resend once.
                    logger.debug(
                        "401 on %s %s: resending once with fresh credentials", method, path
                    )
                    continue

            delay = self._next_delay(outcome, failure, retries_done, retry_after, idempotent)
            if delay is not None and anyio.current_time() + delay < deadline:
                retries_done += 1
                if outcome is Failure.MAYBE_SENT or outcome in _MAY_HAVE_ACTED:
                    earlier_may_have_acted = True
                logger.info(
                    "retrying %s (attempt %d of %d) after %s in %.2fs",
                    method,
                    retries_done + 1,
                    self.policy.max_retries + 1,
                    outcome.value if isinstance(outcome, Failure) else outcome,
                    delay,
                )
                await _sleep(delay)
                continue
            if error is not None:
                raise error
            assert failure is not None
            raise _connection_error(method, host, failure, budget, idempotent)

    async def _send(
        self,
        method: str,
        url: str,
        header_layers: tuple[Mapping[str, str], AuthProvider | None, str, Mapping[str, str]],
        body: bytes | None,
        deadline: float,
        connect_timeout: float,
    ) -> RawResponse | TransportFailure:
        """One exchange within a slot of the in-flight limit: the answer or the failure.

        `header_layers` are the SDK's own headers, the credentials (provider and
        token) and the caller's extra headers, merged in that order (later win).
        """
        if not await self._limit.acquire(deadline):
            return TransportFailure(
                Failure.NOT_SENT,
                timed_out=True,
                reason=(
                    f"still queued behind this client's {self._limit.limit} requests"
                    " in flight (max_in_flight) when the budget ran out"
                ),
            )
        base, auth, token, extra = header_layers
        if auth is not None:
            headers: Mapping[str, str] = {**base, **auth.headers(token), **extra}
        else:
            headers = {**base, **extra} if extra else base
        try:
            return await self._transport.send(
                method, url, headers, body, deadline=deadline, connect_timeout=connect_timeout
            )
        except TransportFailure as exc:
            return exc
        finally:
            self._limit.release()

    def _next_delay(
        self,
        outcome: int | Failure,
        failure: TransportFailure | None,
        retries_done: int,
        retry_after: float | None,
        idempotent: bool,
    ) -> float | None:
        """Seconds to wait before trying again, or None if the policy says not to."""
        if failure is not None and failure.local:
            return None  # refused before sending: it would be refused again
        if not should_retry(
            outcome,
            idempotent=idempotent,
            retries_done=retries_done,
            max_retries=self.policy.max_retries,
        ):
            return None
        return backoff_delay(
            retries_done,
            policy=self.policy,
            retry_after=retry_after,
            random_fraction=random.random(),  # noqa: S311 - jitter, not crypto
        )


def _connection_error(
    method: str, host: str, failure: TransportFailure, budget: Timeout, idempotent: bool
) -> APIConnectionError:
    maybe_sent = failure.failure is Failure.MAYBE_SENT
    if failure.timed_out:
        what = f"{method} {host} timed out (budget {budget.total:g}s): {failure.reason}"
    else:
        what = f"{method} {host} failed: {failure.reason}"
    if maybe_sent and not idempotent:
        what += (
            "; the request may have been processed by the server, so it was not"
            " retried: check before sending it again"
        )
    elif not maybe_sent:
        what += "; the request never reached the server"
    cls = APITimeoutError if failure.timed_out else APIConnectionError
    return cls(what, may_have_been_processed=maybe_sent)
