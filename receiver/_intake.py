"""From an HTTP request to a verified `InboundSms`, or the answer that refuses it.

Everything a delivery must pass before any handler sees it, in order: content
type (415), Basic auth (401), body size (413) and read deadline (408) while
streaming, JSON and fields (400), signature (403). It keeps no state, so a
queued mode can verify here, store the message, and answer at once.

A refusal sent before the body has been read to its end carries
``Connection: close``: otherwise the server would go on reading (and throwing
away) whatever the client still sends, 300 MiB or one byte per second.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping

import anyio
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive

from intelepeer_async.models.inbound import InboundSms

from .verify import BasicAuth, SignatureVerifier

__all__ = ["Intake", "Rejected", "error_response"]


def error_response(
    status: int, message: str, *, close: bool = False, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The receiver's every error: a short JSON body, ``{"error": message}``."""
    all_headers = dict(headers or {})
    if close:
        all_headers["Connection"] = "close"
    return JSONResponse({"error": message}, status_code=status, headers=all_headers)


class Rejected(Exception):
    """A delivery refused with `status`; `message` names no personal data or secret."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        close: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.close = close
        self.headers = headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, close=self.close, headers=self.headers)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _problem(exc: ValidationError) -> str:
    """What is wrong with the body, naming fields but never their values."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    for error in errors:
        if error["type"] == "json_invalid":
            detail = str(error["msg"]).removeprefix("Invalid JSON: ")
            return f"body is not valid JSON: {detail}"
        if error["type"] == "model_type":
            return "body must be a JSON object"
    fields = sorted({str(e["loc"][0]) if e["loc"] else "body" for e in errors})
    return f"missing or invalid field(s): {', '.join(fields)}"


def parse(raw: bytes) -> InboundSms:
    """The message in `raw`, or `Rejected` (400).

    pydantic's JSON parser refuses nesting deeper than 200 levels, invalid
    UTF-8 and lone surrogates (``"\\ud800"``: not text, so it cannot be
    verified or stored), all as invalid JSON. A UTF-8 byte-order mark is allowed.
    """
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return InboundSms.model_validate_json(raw)
    except ValidationError as exc:
        raise Rejected(400, _problem(exc)) from None


class Intake:
    """The checks before any handler; see the module docstring for the order."""

    def __init__(
        self,
        *,
        verifier: SignatureVerifier | None,
        basic_auth: BasicAuth | None,
        max_body: int,
        body_timeout: float,
    ) -> None:
        self.verifier = verifier
        self.basic_auth = basic_auth
        self.max_body = max_body
        self.body_timeout = body_timeout
        self._too_big = f"body over {max_body} bytes"
        self._too_slow = f"body not received within {body_timeout:g}s"

    async def accept(self, request: Request) -> InboundSms:
        """The verified message; raises `Rejected` with the answer to give instead."""
        headers = request.headers
        content_type = headers.get("content-type")
        if content_type is not None and not _is_json(content_type):
            raise Rejected(415, "content type must be application/json", close=True)
        if self.basic_auth is not None and not self.basic_auth.verify(headers):
            raise Rejected(
                401,
                "authentication required",
                close=True,
                headers={"WWW-Authenticate": 'Basic realm="sms"'},
            )
        message = parse(await self.read_body(request.receive, headers.get("content-length")))
        if self.verifier is not None and not self.verifier.verify(message):
            raise Rejected(403, "bad or missing signature")
        return message

    async def read_body(self, receive: Receive, declared: str | None) -> bytes:
        """The whole body, within `max_body` bytes and `body_timeout` seconds."""
        # More than 18 digits is more than any limit (and may be too long for int()).
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and (len(declared) > 18 or int(declared) > self.max_body)
        ):
            raise Rejected(413, self._too_big, close=True)
        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(self.body_timeout):
            while True:
                event = await receive()
                if event["type"] == "http.disconnect":
                    raise Rejected(
                        400, "client disconnected before the body was complete", close=True
                    )
                chunk = event.get("body", b"")
                size += len(chunk)
                if size > self.max_body:
                    # Stop reading: the rest of a huge body is never buffered.
                    raise Rejected(413, self._too_big, close=True)
                chunks.append(chunk)
                if not event.get("more_body", False):
                    return b"".join(chunks)
        raise Rejected(408, self._too_slow, close=True)
