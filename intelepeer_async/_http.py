"""The one place that talks HTTP: auth headers, time budget, retries, error mapping, logs.

Resources describe endpoints and call `HTTPCore.request`; nothing else in the
package imports httpx at run time. Logging goes to the ``intelepeer_async``
logger: method, path, status, attempt and elapsed time at DEBUG (paths can hold
phone numbers, so they never appear above DEBUG); retries at INFO without the
path. Request bodies, query strings, tokens and passwords are never logged.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

from ._auth import AuthProvider
from ._retry import Failure, RetryPolicy, backoff_delay, parse_retry_after, should_retry
from .errors import APIConnectionError, APIStatusError, APITimeoutError, status_error
from .types import Timeout

__all__ = ["HTTPCore", "Response"]

logger = logging.getLogger("intelepeer_async")

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


async def _sleep(seconds: float) -> None:
    # One seam for tests to observe back-off without waiting.
    await anyio.sleep(seconds)


@dataclass(frozen=True)
class Response:
    """A successful response, decoded: `data` is JSON, text, or None for an empty body."""

    status_code: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return response.text


def _classify(exc: BaseException) -> Failure:
    # ConnectError/ConnectTimeout: no connection, so nothing was sent.
    # PoolTimeout: waited for a free connection, so nothing was sent.
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure.NOT_SENT
    return Failure.MAYBE_SENT


class HTTPCore:
    """Sends requests through one pooled `httpx.AsyncClient` under the retry policy.

    A client passed in by the user is used as is and never closed here; one we
    create is closed by `aclose`. `copy` makes a sibling sharing the same pool
    (for ``with_options``); only the original closes it.
    """

    def __init__(
        self,
        *,
        timeout: Timeout,
        policy: RetryPolicy,
        http_client: httpx.AsyncClient | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.timeout = timeout
        self.policy = policy
        self._owns_client = http_client is None
        self._client = http_client if http_client is not None else httpx.AsyncClient()
        self._headers = {"Accept": "application/json", **(headers or {})}

    def copy(
        self, *, timeout: Timeout | None = None, policy: RetryPolicy | None = None
    ) -> HTTPCore:
        """A core with other settings on the same connection pool, which it does not own."""
        return HTTPCore(
            timeout=timeout or self.timeout,
            policy=policy or self.policy,
            http_client=self._client,
            headers=self._headers,
        )

    @property
    def is_closed(self) -> bool:
        return self._client.is_closed

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

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
    ) -> Response:
        """Send one API call; retry as the policy allows; raise on any error status.

        `idempotent` defaults from the method (GET/PUT/DELETE yes, POST/PATCH no).
        Pass True for a POST that is safe to repeat (a login, setting a webhook).
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        deadline = anyio.current_time() + self.timeout.total
        retries_done = 0
        refreshed_auth = False
        attempt = 0
        while True:
            attempt += 1
            token = await auth.token() if auth is not None else ""
            request_headers = {**self._headers, **(headers or {})}
            if auth is not None:
                request_headers.update(auth.headers(token))
            started = anyio.current_time()
            remaining = deadline - started
            if remaining <= 0:
                # Only reachable after a 401 refresh whose login ate the budget:
                # the refused attempt was not processed.
                raise APITimeoutError(
                    f"{method} timed out (budget {self.timeout.total:g}s) before it could be sent",
                    may_have_been_processed=False,
                )
            response, error, outcome = await self._send(
                method, url, params, json_body, request_headers, remaining
            )
            elapsed = anyio.current_time() - started
            path = httpx.URL(url).path
            logger.debug(
                "%s %s -> %s (attempt %d, %.3fs)",
                method,
                path,
                outcome.value if isinstance(outcome, Failure) else outcome,
                attempt,
                elapsed,
            )

            if response is not None and response.is_success:
                return Response(response.status_code, _decode(response), dict(response.headers))

            if (
                response is not None
                and response.status_code == 401
                and auth is not None
                and auth.refreshable
                and not refreshed_auth
            ):
                # The token was refused, so nothing was processed: safe to resend once.
                refreshed_auth = True
                auth.invalidate(token)
                logger.debug("401 on %s %s: refreshing credentials once", method, path)
                continue

            retry_after = parse_retry_after(response.headers) if response is not None else None
            if should_retry(
                outcome,
                idempotent=idempotent,
                retries_done=retries_done,
                max_retries=self.policy.max_retries,
            ):
                delay = backoff_delay(
                    retries_done,
                    policy=self.policy,
                    retry_after=retry_after,
                    random_fraction=random.random(),  # noqa: S311 - jitter, not crypto
                )
                if anyio.current_time() + delay < deadline:
                    retries_done += 1
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
            raise self._final_error(method, outcome, response, error, idempotent) from error

    async def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        json_body: object,
        headers: Mapping[str, str],
        remaining: float,
    ) -> tuple[httpx.Response | None, BaseException | None, int | Failure]:
        """One attempt within `remaining` seconds: the response, or the failure."""
        try:
            with anyio.fail_after(remaining):
                response = await self._client.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=httpx.Timeout(remaining, connect=min(self.timeout.connect, remaining)),
                )
        except (httpx.TransportError, TimeoutError) as exc:
            return None, exc, _classify(exc)
        return response, None, response.status_code

    def _final_error(
        self,
        method: str,
        outcome: int | Failure,
        response: httpx.Response | None,
        error: BaseException | None,
        idempotent: bool,
    ) -> APIStatusError | APIConnectionError:
        if response is not None:
            return status_error(
                response.status_code,
                _decode(response),
                headers=response.headers,
                reason=response.reason_phrase,
                response=response,
            )
        maybe_sent = outcome is Failure.MAYBE_SENT
        timed_out = isinstance(error, TimeoutError | httpx.TimeoutException)
        what = (
            f"{method} timed out (budget {self.timeout.total:g}s)"
            if timed_out
            else f"{method} failed: {type(error).__name__}"
        )
        if maybe_sent and not idempotent:
            what += (
                "; the request may have been processed by the server, so it was not"
                " retried: check before sending it again"
            )
        elif not maybe_sent:
            what += "; the request never reached the server"
        cls = APITimeoutError if timed_out else APIConnectionError
        return cls(what, may_have_been_processed=maybe_sent)
