"""The exception tree, and how an error response becomes one of its classes.

Everything the SDK raises on purpose derives from `IntelePeerError`, so one
``except IntelePeerError`` catches it all; the subclasses let callers react to
what happened (retry later, fix input, re-authenticate) without parsing text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IntelePeerError",
    "InternalServerError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
]


class IntelePeerError(Exception):
    """Base of every error this SDK raises on purpose."""


class InvalidInputError(IntelePeerError, ValueError):
    """Input rejected before any request was sent (bad E.164, bad call flow, ...).

    `problems` lists every problem found, so a user fixes them all in one go.
    """

    def __init__(self, message: str, problems: Sequence[str] | None = None) -> None:
        self.problems: list[str] = list(problems) if problems else [message]
        super().__init__(message)


class APIConnectionError(IntelePeerError):
    """No HTTP response was received (DNS, refused connection, reset, timeout).

    `may_have_been_processed` is True when the request may have reached the
    server before the failure: a non-idempotent call (send SMS, trigger a flow)
    is then *not* retried, and the caller must check before sending again.
    """

    def __init__(self, message: str, *, may_have_been_processed: bool) -> None:
        self.may_have_been_processed = may_have_been_processed
        super().__init__(message)


class APITimeoutError(APIConnectionError):
    """The call ran out of its time budget before a response arrived."""


class APIStatusError(IntelePeerError):
    """The server answered with an error status.

    `message` is the vendor's own text, unchanged; `body` the parsed JSON (or
    text) of the response; `request_id` the vendor's request id when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        request_id: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.body = body
        self.request_id = request_id
        self.response = response
        detail = f"{status_code}: {message}"
        if request_id:
            detail += f" (request id {request_id})"
        super().__init__(detail)


class BadRequestError(APIStatusError):
    """400: the vendor rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: credentials missing, wrong or expired (after one refresh was tried)."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (e.g. a number not on the account)."""


class NotFoundError(APIStatusError):
    """404: the number, agent, flow or record does not exist for this account."""


class ConflictError(APIStatusError):
    """409: the resource is busy, e.g. provisioning already in progress."""


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but semantically invalid request."""


class RateLimitError(APIStatusError):
    """429: too many requests; retried automatically within `max_retries`."""


class InternalServerError(APIStatusError):
    """5xx: the vendor failed; idempotent calls are retried automatically."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

# Keys under which the vendors' error bodies carry their human-readable text,
# most specific first. Shapes seen in the spec:
#   {"code":401,"error":"Unauthorized"}            (v4 authenticate)
#   {"message":"...","status":400}                 (SmartCommunicator onboard)
#   {"status":"error","message":"..."}             (SmartCommunicator update/offboard)
#   {"detail":"unauthorized"}                      (SMS MDR)
#   {"requestId":"...","message":"..."}            (SmartCommunicator 404)
#   {"result":{},"status_code":404,"status_message":"Not Found"}   (Yay.com)
_MESSAGE_KEYS = ("message", "error", "detail", "status_message", "error_description", "title")
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-correlation-id")


def error_message(body: object, fallback: str) -> str:
    """The vendor's error text from any body shape in the spec, else `fallback`."""
    if isinstance(body, Mapping):
        for key in _MESSAGE_KEYS:
            value = body.get(key)
            text = _as_text(value)
            if text:
                return text
        nested = body.get("data")
        if isinstance(nested, Mapping):
            return error_message(nested, fallback)
        return fallback
    if isinstance(body, str) and body.strip():
        text = body.strip()
        return text if len(text) <= 500 else text[:500] + "..."
    return fallback


def _as_text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, Mapping):
        inner = value.get("message") or value.get("msg") or value.get("detail")
        return inner if isinstance(inner, str) and inner else None
    if isinstance(value, list) and value:
        parts = [_as_text(item) or (item if isinstance(item, str) else None) for item in value]
        joined = "; ".join(p for p in parts if p)
        return joined or None
    return None


def request_id_of(body: object, headers: Mapping[str, str]) -> str | None:
    """The vendor's request id, from the body (`requestId`) or a response header."""
    if isinstance(body, Mapping):
        for key in ("requestId", "request_id"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        if lowered.get(name):
            return lowered[name]
    return None


def status_error(
    status_code: int,
    body: object,
    *,
    headers: Mapping[str, str] | None = None,
    reason: str = "",
    response: httpx.Response | None = None,
) -> APIStatusError:
    """The `APIStatusError` subclass for `status_code`, carrying the parsed vendor text."""
    cls = InternalServerError if status_code >= 500 else _BY_STATUS.get(status_code, APIStatusError)
    message = error_message(body, reason or f"HTTP {status_code}")
    return cls(
        message,
        status_code=status_code,
        body=body,
        request_id=request_id_of(body, headers or {}),
        response=response,
    )
