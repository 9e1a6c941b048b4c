"""Inbound-SMS webhook per number: set (one or many) and get."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, overload
from urllib.parse import urlsplit

import anyio

from .._http import Response
from ..errors import APIConnectionError, APIStatusError, InvalidInputError, error_message
from ..models.sms import WebhookConfig, WebhookResult, provisioning_state
from ..types import validate_address

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
        raise InvalidInputError("url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInputError("url must be an http:// or https:// URL with a host")
    if any(c.isspace() for c in url):
        raise InvalidInputError("url must not contain whitespace")
    return url


def _result_from(entry: Mapping[str, Any], fallback_number: str) -> WebhookResult:
    """One entry of a 207 body, or the whole body of a single 201."""
    response = entry.get("response")
    detail: Mapping[str, Any] = response if isinstance(response, Mapping) else entry
    status = entry.get("status", entry.get("code"))
    number = entry.get("endpoint") or detail.get("tnkey") or fallback_number
    ok = isinstance(status, int) and 200 <= status < 300
    return WebhookResult(
        number=str(number),
        status=status if isinstance(status, int) else None,
        webhook=detail.get("webhook") if isinstance(detail.get("webhook"), str) else None,
        state=provisioning_state(detail),
        error=None if ok else error_message(detail, "failed"),
    )


def _parse_set(body: object, numbers: Sequence[str], http_status: int) -> list[WebhookResult]:
    if isinstance(body, Mapping) and isinstance(body.get("endpoints"), list):
        entries = [e for e in body["endpoints"] if isinstance(e, Mapping)]
        results = [
            _result_from(e, numbers[i] if i < len(numbers) else "") for i, e in enumerate(entries)
        ]
        answered = {r.number for r in results}
        # A number the server left out of its answer is reported, not dropped.
        results += [
            WebhookResult(number=n, status=None, error="no result for this number in the response")
            for n in numbers
            if n not in answered
        ]
        return results
    if isinstance(body, Mapping) and len(numbers) == 1:
        single = dict(body)
        single.setdefault("code", http_status)
        return [_result_from(single, numbers[0])]
    return [
        WebhookResult(number=n, status=http_status, error="unrecognised response shape")
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
        self, numbers: str, url: str, *, chunk_size: int = ..., concurrency: int = ...
    ) -> WebhookResult: ...

    @overload
    async def set(
        self, numbers: Sequence[str], url: str, *, chunk_size: int = ..., concurrency: int = ...
    ) -> list[WebhookResult]: ...

    async def set(
        self,
        numbers: str | Sequence[str],
        url: str,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> WebhookResult | list[WebhookResult]:
        """Point inbound SMS for `numbers` at `url`.

        One number (a str): returns its `WebhookResult`, and a failure raises.
        A list: returns one `WebhookResult` per number in input order; a failed
        number is a result with `status`/`error`, not an exception. Lists longer
        than `chunk_size` go out in chunks, at most `concurrency` at once. A chunk
        whose request fails outright yields failed results for its numbers, so
        the other chunks' outcomes are never lost. Setting a webhook is
        idempotent, so these calls are retried like reads.
        """
        webhook = validate_webhook_url(url)
        if isinstance(numbers, str):
            validate_address(numbers, "number")
            response = await self._post([numbers], webhook)
            body = dict(response.data) if isinstance(response.data, Mapping) else {}
            return _parse_set(body, [numbers], response.status_code)[0]
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
                outcomes[index] = await self._set_chunk(chunks[index], webhook)

        async with anyio.create_task_group() as tg:
            for index in range(len(chunks)):
                tg.start_soon(run, index)
        return [result for chunk in outcomes for result in chunk]

    async def _post(self, numbers: list[str], webhook: str) -> Response:
        return await self._client._v4(
            "POST", self._url, json_body={"endpoints": numbers, "webhook": webhook}, idempotent=True
        )

    async def _set_chunk(self, numbers: list[str], webhook: str) -> list[WebhookResult]:
        try:
            response = await self._post(numbers, webhook)
        except APIStatusError as exc:
            logger.debug("webhook chunk of %d numbers failed: %s", len(numbers), exc.status_code)
            return [
                WebhookResult(number=n, status=exc.status_code, error=exc.message) for n in numbers
            ]
        except APIConnectionError as exc:
            return [WebhookResult(number=n, status=None, error=str(exc)) for n in numbers]
        return _parse_set(response.data, numbers, response.status_code)

    async def get(self, number: str) -> WebhookConfig:
        """The webhook configured for `number` (sent as ``?endpoint=%2B...``)."""
        validate_address(number, "number")
        response = await self._client._v4("GET", self._url, params={"endpoint": number})
        data = response.data if isinstance(response.data, Mapping) else {}
        return WebhookConfig(
            number=str(data.get("tnkey") or number),
            webhook=data.get("webhook") if isinstance(data.get("webhook"), str) else None,
            state=provisioning_state(data),
        )
