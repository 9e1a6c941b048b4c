"""Inbound-SMS webhook per number: set (one or many) and get."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlsplit

import anyio

from .._http import Response
from ..errors import (
    APIStatusError,
    IntelePeerError,
    InvalidInputError,
    LoginError,
    error_message,
)
from ..models.sms import WebhookConfig, WebhookResult, provisioning_state
from ..types import Timeout, is_unicode, not_unicode, validate_address

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer

__all__ = ["Webhooks", "validate_webhook_url"]

logger = logging.getLogger("intelepeer_async")

DEFAULT_CHUNK_SIZE = 100
DEFAULT_CONCURRENCY = 8


def validate_webhook_url(url: object) -> str:
    """An http(s) URL with a host; ``user:pass@`` credentials are allowed (and never logged)."""
    if not isinstance(url, str):
        raise InvalidInputError("url must be a string")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        parts = None
    if parts is None:  # raised outside the handler: its error may quote the URL's password
        raise InvalidInputError("url is not a valid URL")
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInputError("url must be an http:// or https:// URL with a host")
    if any(c.isspace() for c in url):
        raise InvalidInputError("url must not contain whitespace")
    if not is_unicode(url):
        raise not_unicode("url")
    return url


def _normalised(number: object) -> str:
    """A number as the server might echo it: ``+12161112222`` and ``12161112222`` match."""
    return str(number).strip().lstrip("+") if number is not None else ""


def _result_from(entry: Mapping[str, Any], number: str) -> WebhookResult:
    """One entry of a 207 body, or the whole body of a single 201, for input `number`."""
    response = entry.get("response")
    detail: Mapping[str, Any] = response if isinstance(response, Mapping) else entry
    status = entry.get("status", entry.get("code"))
    ok = isinstance(status, int) and 200 <= status < 300
    return WebhookResult(
        number=number,
        status=status if isinstance(status, int) else None,
        webhook=detail.get("webhook") if isinstance(detail.get("webhook"), str) else None,
        state=provisioning_state(detail),
        error=None if ok else error_message(detail, "failed"),
    )


def _echoed_number(entry: Mapping[str, Any]) -> str:
    response = entry.get("response")
    detail = response if isinstance(response, Mapping) else {}
    return _normalised(entry.get("endpoint") or detail.get("tnkey") or entry.get("tnkey"))


def _match(entries: Sequence[Mapping[str, Any]], numbers: Sequence[str]) -> list[WebhookResult]:
    """One result per input number, in input order, matched by the number each
    entry names (the server may answer in any order, with or without ``+``).
    An entry that names no number falls back to its position; a number nobody
    answered for is a failed result; an entry for a number not asked about is
    ignored."""
    matched: list[WebhookResult | None] = [None] * len(numbers)
    waiting: dict[str, list[int]] = {}
    for index, number in enumerate(numbers):
        waiting.setdefault(_normalised(number), []).append(index)
    unnamed: list[tuple[int, Mapping[str, Any]]] = []
    for position, entry in enumerate(entries):
        key = _echoed_number(entry)
        if not key:
            unnamed.append((position, entry))
        elif waiting.get(key):
            index = waiting[key].pop(0)
            matched[index] = _result_from(entry, numbers[index])
        else:
            logger.debug("webhook answer for a number not in the request ignored")
    for position, entry in unnamed:
        if position < len(numbers) and matched[position] is None:
            matched[position] = _result_from(entry, numbers[position])
    by_number = {_normalised(r.number): r for r in matched if r is not None}
    return [
        result
        if result is not None
        # A number given twice and answered once shares that answer.
        else by_number.get(_normalised(number))
        or WebhookResult(
            number=number, status=None, error="no result for this number in the response"
        )
        for number, result in zip(numbers, matched, strict=True)
    ]


def _parse_set(response: Response, numbers: Sequence[str]) -> list[WebhookResult]:
    body = response.data
    if isinstance(body, Mapping) and isinstance(body.get("endpoints"), list):
        entries = [e for e in body["endpoints"] if isinstance(e, Mapping)]
        return _match(entries, numbers)
    if isinstance(body, Mapping) and len(numbers) == 1:
        single = dict(body)
        single.setdefault("code", response.status_code)
        return [_result_from(single, numbers[0])]
    why = f" ({response.body_error})" if response.body_error else ""
    return [
        WebhookResult(
            number=n,
            status=None,
            error=f"the answer (HTTP {response.status_code}) could not be read{why};"
            " the webhook may or may not have been set",
        )
        for n in numbers
    ]


class Webhooks:
    """Where IntelePeer POSTs inbound SMS for each number."""

    def __init__(self, client: AsyncIntelePeer) -> None:
        self._client = client

    @property
    def _url(self) -> str:
        return f"{self._client.urls.api}/_rest/v4/my/did/sms/webhook"

    @overload
    async def set(  # type: ignore[overload-overlap]  # a str is also a Sequence[str]
        self,
        numbers: str,
        url: str,
        *,
        chunk_size: int = ...,
        concurrency: int = ...,
        extra_headers: Mapping[str, str] | None = ...,
        timeout: float | Timeout | None = ...,
    ) -> WebhookResult: ...

    @overload
    async def set(
        self,
        numbers: Sequence[str],
        url: str,
        *,
        chunk_size: int = ...,
        concurrency: int = ...,
        extra_headers: Mapping[str, str] | None = ...,
        timeout: float | Timeout | None = ...,
    ) -> list[WebhookResult]: ...

    async def set(
        self,
        numbers: str | Sequence[str],
        url: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> WebhookResult | list[WebhookResult]:
        """Point inbound SMS for `numbers` at `url`.

        One number (a str): returns its `WebhookResult`, and a failure raises.
        A list: returns exactly one `WebhookResult` per number, in input order,
        matched by number whatever order the server answers in; a failed number
        (or one the server did not answer for) is a result with `status`/`error`,
        not an exception. Lists longer than `chunk_size` go out in chunks, at
        most `concurrency` at once; `timeout` is the budget of each chunk's
        request. A chunk whose request fails outright yields failed results for
        its numbers, so the other chunks' outcomes are never lost; nothing is
        raised for a list once it is sent. Setting a webhook is idempotent, so
        these calls are retried like reads.
        """
        webhook = validate_webhook_url(url)
        options = _Options(extra_headers, timeout)
        if isinstance(numbers, str):
            validate_address(numbers, "number")
            response = await self._post([numbers], webhook, options)
            if not isinstance(response.data, Mapping):
                raise response.unreadable("the answer is not a JSON object")
            return _parse_set(response, [numbers])[0]
        wanted = [validate_address(n, f"numbers[{i}]") for i, n in enumerate(numbers)]
        if not wanted:
            raise InvalidInputError("numbers must not be empty")
        if chunk_size < 1 or concurrency < 1:
            raise InvalidInputError("chunk_size and concurrency must be >= 1")
        chunks = [wanted[i : i + chunk_size] for i in range(0, len(wanted), chunk_size)]
        outcomes: list[list[WebhookResult]] = [[] for _ in chunks]
        limiter = anyio.CapacityLimiter(concurrency)

        async def run(index: int) -> None:
            async with limiter:
                outcomes[index] = await self._set_chunk(chunks[index], webhook, options)

        async with anyio.create_task_group() as tg:
            for index in range(len(chunks)):
                tg.start_soon(run, index)
        return [result for chunk in outcomes for result in chunk]

    async def _post(self, numbers: list[str], webhook: str, options: _Options) -> Response:
        return await self._client._v4(
            "POST",
            self._url,
            json_body={"endpoints": numbers, "webhook": webhook},
            idempotent=True,
            extra_headers=options.extra_headers,
            timeout=options.timeout,
        )

    async def _set_chunk(
        self, numbers: list[str], webhook: str, options: _Options
    ) -> list[WebhookResult]:
        """Never raises (but for cancellation): a task that raised would end the
        task group with an ExceptionGroup and lose the other chunks' results."""
        status: int | None = None
        try:
            response = await self._post(numbers, webhook, options)
        except APIStatusError as exc:
            # A refused login is also an APIStatusError, but this chunk was never sent.
            status = None if isinstance(exc, LoginError) else exc.status_code
            error = exc.message if status is not None else str(exc)
        except IntelePeerError as exc:
            error = str(exc)
        except Exception as exc:
            logger.warning("webhook chunk failed unexpectedly: %s", type(exc).__name__)
            error = f"unexpected error ({type(exc).__name__})"
        else:
            return _parse_set(response, numbers)
        logger.debug("webhook chunk of %d numbers failed: %s", len(numbers), status)
        return [WebhookResult(number=n, status=status, error=error) for n in numbers]

    async def get(
        self,
        number: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> WebhookConfig:
        """The webhook configured for `number` (sent as ``?endpoint=%2B...``).

        An answer that is not a JSON object raises `APIResponseValidationError`.
        """
        validate_address(number, "number")
        response = await self._client._v4(
            "GET",
            self._url,
            params={"endpoint": number},
            extra_headers=extra_headers,
            timeout=timeout,
        )
        data = response.data
        if not isinstance(data, Mapping):
            raise response.unreadable("the webhook configuration is not a JSON object")
        return WebhookConfig(
            number=str(data.get("tnkey") or number),
            webhook=data.get("webhook") if isinstance(data.get("webhook"), str) else None,
            state=provisioning_state(data),
        )


@dataclass(frozen=True)
class _Options:
    """Per-call options passed down to every chunk's request."""

    extra_headers: Mapping[str, str] | None
    timeout: float | Timeout | None
