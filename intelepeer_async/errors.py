"""The exception tree, and how an error response becomes one of its classes.

Everything the SDK raises on purpose derives from `IntelePeerError`, so one
``except IntelePeerError`` catches it all; the subclasses let callers react to
what happened (retry later, fix input, re-authenticate) without parsing text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._transport import RawResponse

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IntelePeerError",
    "InternalServerError",
    "InvalidInputError",
    "LoginConnectionError",
    "LoginError",
    "LoginRefusedError",
    "LoginTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnexpectedRedirectError",
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
        self._may_have_been_processed = may_have_been_processed
        super().__init__(message)

    @property
    def may_have_been_processed(self) -> bool:
        """Whether the request may have reached the server before the failure."""
        return self._may_have_been_processed


class APITimeoutError(APIConnectionError):
    """The call ran out of its time budget before a response arrived."""


def _detail(status_code: int, message: str, request_id: str | None) -> str:
    detail = f"{status_code}: {message}"
    return f"{detail} (request id {request_id})" if request_id else detail


#: Statuses with which a server refuses a request BEFORE doing anything: the one
#: place that says so (the retry policy resends even a paid POST after these).
REFUSED_BEFORE_PROCESSING = frozenset({429, 503})


class APIStatusError(IntelePeerError):
    """The server answered with an error status.

    `message` is the vendor's own text, unchanged; `body` the parsed JSON (or
    text) of the response; `request_id` the vendor's request id when it sent one;
    `response` the raw answer (`status_code`, `headers`, `content`, and
    `request`: method, URL and headers as sent, credentials and query hidden).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        request_id: str | None = None,
        response: RawResponse | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message
        self.body = body
        self.request_id = request_id
        self.response = response
        super().__init__(_detail(status_code, message, request_id))

    @property
    def may_have_been_processed(self) -> bool:
        """Whether the server may have acted on the request despite the error.

        True for a 5xx other than 503: the server (or a gateway in front of it)
        failed somewhere while handling it, so a paid call such as an SMS may
        have gone out; check before sending it again. False for 4xx and 3xx
        (refused) and for 429/503 (refused before processing).
        """
        return self.status_code >= 500 and self.status_code not in REFUSED_BEFORE_PROCESSING


class UnexpectedRedirectError(APIStatusError):
    """3xx: the server redirected; the SDK never follows a redirect, which would
    carry the account's credentials to wherever it points."""


class BadRequestError(APIStatusError):
    """400: the vendor rejected the request's content."""


class AuthenticationError(APIStatusError):
    """401: credentials refused. A fresh token refused is the API's own answer
    (some endpoints use 401 for business errors), so `message` says why."""


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


class APIResponseValidationError(IntelePeerError):
    """A response arrived but cannot be read as the API documents it.

    `status_code`, `body` (JSON, text, or None) and `request_id` describe it.
    `succeeded` is True when the HTTP status said success: the call took
    effect (for a write, look before doing it again), only its answer is
    unusable.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: object = None,
        request_id: str | None = None,
        succeeded: bool = False,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.succeeded = succeeded
        super().__init__(_detail(status_code, message, request_id))


class LoginError(IntelePeerError):
    """The login a call needed failed, so the call itself was never sent.

    `may_have_been_processed` is always False. `status_code`, `message` (the
    vendor's text), `body` and `request_id` describe the login's own answer
    when there was one; `status_code` is None when there was none (timeout,
    connection failure). Concurrent calls waiting for the same login all get
    its failure; none of them starts a login of its own.
    """

    def __init__(
        self,
        description: str,
        *,
        status_code: int | None = None,
        message: str | None = None,
        body: object = None,
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.message = message if message is not None else description
        self.body = body
        self.request_id = request_id
        self.response: RawResponse | None = None
        Exception.__init__(self, description)

    @property
    def may_have_been_processed(self) -> bool:
        """Always False: the call that needed the login was never sent."""
        return False


class LoginTimeoutError(LoginError, APITimeoutError):
    """The login did not finish within the call's time budget (also an `APITimeoutError`)."""


class LoginConnectionError(LoginError, APIConnectionError):
    """The login got no answer (refused connection, DNS, reset): also an
    `APIConnectionError`, so code (and the CLI's exit code 4) that handles an
    unreachable server handles an unreachable login server the same way."""


class LoginRefusedError(LoginError, AuthenticationError):
    """The login was refused (401/403: wrong username or password, locked account).

    Also an `AuthenticationError`. Remembered for a few seconds
    (`LOGIN_REFUSAL_MEMORY`), so a burst of calls makes one login attempt, not
    one each, which could lock the account.
    """

    status_code: int  # always the login's 401 or 403


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
    response: RawResponse | None = None,
) -> APIStatusError:
    """The `APIStatusError` subclass for `status_code`, carrying the parsed vendor text."""
    if status_code >= 500:
        cls: type[APIStatusError] = InternalServerError
    elif 300 <= status_code < 400:
        cls = UnexpectedRedirectError
    else:
        cls = _BY_STATUS.get(status_code, APIStatusError)
    message = error_message(body, reason or f"HTTP {status_code}")
    return cls(
        message,
        status_code=status_code,
        body=body,
        request_id=request_id_of(body, headers or {}),
        response=response,
    )
