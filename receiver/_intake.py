"""From an ASGI request to a verified `InboundSms`, or the answer that refuses it.

Everything a delivery must pass before any handler sees it, in order: content
type (415), Basic auth (401), body size (413) and read deadline (408) while
streaming, JSON and fields (400), signature (403). It keeps no state, so a
queued mode can verify here, store the message, and answer at once.

A refusal sent before the body has been read to its end carries
``Connection: close``: otherwise the server would go on reading (and throwing
away) whatever the client still sends, 300 MiB or one byte per second. The
fixed refusals are built once, with the intake. The body's deadline is a limit
of the delivery's `Guard` (``_guard``): when it passes, the guard's scope
catches the cancellation and the caller answers `Intake.too_slow` (408).
"""

from __future__ import annotations

import codecs

from pydantic import ValidationError

from intelepeer_async.models.inbound import InboundSms

from ._asgi import Answer, Receive, error
from ._guard import Guard
from .verify import BasicAuth, SignatureVerifier

__all__ = ["Intake", "Rejected", "parse"]


class Rejected(Exception):
    """A delivery refused with `answer`, whose text names no personal data or secret."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.reason)
        self.answer = answer


def _is_json(content_type: bytes) -> bool:
    if content_type == b"application/json":
        return True
    media = content_type.decode("latin-1").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _problem(exc: ValidationError) -> str:
    """What is wrong with the body, naming fields but never their values."""
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    for error_ in errors:
        if error_["type"] == "json_invalid":
            detail = str(error_["msg"]).removeprefix("Invalid JSON: ")
            return f"body is not valid JSON: {detail}"
        if error_["type"] == "model_type":
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
        raise Rejected(error(400, _problem(exc))) from None


#: More than 18 digits is more than any limit (and may be too long for int()).
_MAX_DIGITS = 18


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
        self._unsupported = error(415, "content type must be application/json", close=True)
        self._unauthenticated = error(
            401,
            "authentication required",
            close=True,
            headers=(("WWW-Authenticate", 'Basic realm="sms"'),),
        )
        self._too_big = error(413, f"body over {max_body} bytes", close=True)
        #: The answer when the body's limit passed (the guard's scope caught it).
        self.too_slow = error(408, f"body not received within {body_timeout:g}s", close=True)
        self._cut_off = error(400, "client disconnected before the body was complete", close=True)
        self._forged = error(403, "bad or missing signature")

    async def accept(
        self, headers: list[tuple[bytes, bytes]], receive: Receive, guard: Guard
    ) -> InboundSms:
        """The verified message; raises `Rejected` with the answer to give instead.

        `headers` are the ASGI scope's (lower-case names); the first of a name
        counts. The body is read under `guard` (entered by the caller), limited
        to `body_timeout`: if that passes, the guard's scope catches it.
        """
        content_type = declared = authorization = None
        for name, value in headers:
            if name == b"content-type":
                if content_type is None:
                    content_type = value
            elif name == b"content-length":
                if declared is None:
                    declared = value
            elif name == b"authorization" and authorization is None:
                authorization = value
        if content_type is not None and not _is_json(content_type):
            raise Rejected(self._unsupported)
        if self.basic_auth is not None and not self.basic_auth.verify(
            {"authorization": (authorization or b"").decode("latin-1")}
        ):
            raise Rejected(self._unauthenticated)
        guard.limit(self.body_timeout, "body")
        raw = await self.read_body(receive, declared)
        guard.clear()
        message = parse(raw)
        if self.verifier is not None and not self.verifier.verify(message):
            raise Rejected(self._forged)
        return message

    async def read_body(self, receive: Receive, declared: bytes | None) -> bytes:
        """The whole body, within `max_body` bytes (the caller bounds the time)."""
        if (
            declared is not None
            and declared.isdigit()  # ASCII digits only, for bytes
            and (len(declared) > _MAX_DIGITS or int(declared) > self.max_body)
        ):
            raise Rejected(self._too_big)
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                raise Rejected(self._cut_off)
            chunk: bytes = event.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                # Stop reading: the rest of a huge body is never buffered.
                raise Rejected(self._too_big)
            if not event.get("more_body", False):
                if not chunks:
                    return chunk  # the whole body in one piece: no copy
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)
