"""SMS/MMS, delivery status, provisioning and webhook models."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    model_validator,
)

from .._redact import redact_url
from ..errors import InvalidInputError
from ._base import IntOrNone, LenientEnum, VendorModel

__all__ = [
    "MAX_INLINE_MEDIA_BYTES",
    "Media",
    "MessageState",
    "MessageStatus",
    "ProvisioningResult",
    "ProvisioningState",
    "SendResult",
    "WebhookConfig",
    "WebhookResult",
]

#: IntelePeer's limit for an MMS, which we apply to inline (`data`) media.
MAX_INLINE_MEDIA_BYTES = 5 * 1024 * 1024
_MEDIA_SCHEMES = ("http", "https", "cpaasmedia")


class Media(BaseModel):
    """One MMS attachment: a `link` to fetch, or inline `data` with its `encoding`.

    Sent as the vendor spells it (``content-type``); strict, since we send it.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, defer_build=True)

    link: str | None = None
    data: str | None = None
    encoding: str | None = None
    content_type: str | None = Field(
        default=None,
        validation_alias=AliasChoices("content_type", "content-type"),
        serialization_alias="content-type",
    )
    filename: str | None = None
    text: str | None = None

    if not TYPE_CHECKING:  # type checkers keep pydantic's signature (the fields)

        def __init__(self, **data: Any) -> None:
            # The README has users build Media themselves: a mistake is an
            # InvalidInputError, raised outside the handler, since pydantic's
            # error (and so the chain) quotes the input, which may be the data.
            problem = None
            try:
                super().__init__(**data)
            except ValidationError as exc:
                problem = media_problem(exc)
            if problem is not None:
                raise InvalidInputError(problem)

    @model_validator(mode="before")
    @classmethod
    def _base64_without_line_breaks(cls, values: Any) -> Any:
        # MIME base64 (base64.encodebytes, email tools) breaks lines every 76
        # characters; the data is the same without them, and JSON carries it cleaner.
        if (
            isinstance(values, dict)
            and isinstance(values.get("data"), str)
            and str(values.get("encoding", "")).lower() == "base64"
        ):
            values = {**values, "data": "".join(values["data"].split())}
        return values

    @model_validator(mode="after")
    def _one_source(self) -> Media:
        if (self.link is None) == (self.data is None):
            raise ValueError("Media needs exactly one of link= or data=")
        if self.link is not None and urlsplit(self.link).scheme not in _MEDIA_SCHEMES:
            raise ValueError("Media link must be an http, https or cpaasmedia URL")
        if self.data is not None and not self.encoding:
            raise ValueError("Media data= needs encoding= (e.g. 'base64')")
        return self

    def inline_size(self) -> int:
        """Bytes of inline data once decoded (0 for a link)."""
        if self.data is None:
            return 0
        if (self.encoding or "").lower() == "base64":
            try:
                return len(base64.b64decode(self.data, validate=True))
            except (binascii.Error, ValueError):
                pass
            # Raised here, not in the handler: no chained exception quoting the data.
            raise InvalidInputError("Media data is not valid base64")
        return len(self.data.encode())

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def media_problem(exc: ValidationError) -> str:
    """What is wrong with a Media, without the input pydantic would quote."""
    first = exc.errors()[0]
    where = ".".join(map(str, first["loc"]))
    message = first["msg"].removeprefix("Value error, ")
    return f"Media {where}: {message}" if where else message


class SendResult(VendorModel):
    """What the send endpoint answered. Its shape is undocumented: `raw` holds it all
    (None for an empty body, or one that could not be decoded).

    `refid` is filled when the body carries one (at the top or under ``data``),
    so it can be passed to ``sms.status``.
    """

    status_code: int
    raw: Any = None
    refid: str | None = None


class MessageState(LenientEnum):
    """Delivery state, from the MDR's ``RCC_en``; anything unrecognised is UNKNOWN."""

    QUEUED = "queued"
    PROCESSING = "processing"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    EXPIRED = "expired"
    DELETED = "deleted"
    UNDELIVERABLE = "undeliverable"
    ACCEPTED = "accepted"
    UNKNOWN = "unknown"
    REJECTED = "rejected"


def _text_or_none(value: object) -> object:
    return value if isinstance(value, str | int | float) and not isinstance(value, bool) else None


class MessageStatus(VendorModel):
    """A message detail record: ``{"code":200,"RCC_en":"Queued","RCC":0}``.

    Read leniently: a field of an unexpected type reads as None rather than
    failing the call; `raw` is the whole record as received.
    """

    code: IntOrNone = None
    rcc: IntOrNone = Field(default=None, alias="RCC")
    rcc_en: Annotated[str | None, BeforeValidator(_text_or_none)] = Field(
        default=None, alias="RCC_en"
    )
    raw: Any = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def state(self) -> MessageState:
        """`rcc_en` as an enum (``DLR:Delivered`` -> DELIVERED); UNKNOWN if unrecognised."""
        text = (self.rcc_en or "").strip()
        if text.upper().startswith("DLR:"):
            text = text[4:]
        return MessageState(text.lower())


class ProvisioningState(LenientEnum):
    """Provisioning state of a number's SMS service."""

    REQUESTED = "requested"
    PROVISIONING = "provisioning"
    PROVISIONED = "provisioned"
    DEREQUESTED = "derequested"
    DEPROVISIONING = "deprovisioning"
    ERROR = "error"
    UNKNOWN = "unknown"


def provisioning_state(body: object) -> ProvisioningState | None:
    """The state in ``{"provisioning": {"state": ...}}``, or None if absent."""
    if isinstance(body, dict):
        block = body.get("provisioning")
        if isinstance(block, dict) and block.get("state") is not None:
            return ProvisioningState(str(block["state"]))
    return None


class ProvisioningResult(VendorModel):
    """Answer to an SMS provisioning request: ``{"code":202,"provisioning":{...}}``."""

    code: int | None = None
    state: ProvisioningState | None = None
    raw: Any = None


class _HidesWebhookSecrets(VendorModel):
    """A repr that shows the webhook URL without its userinfo or query: the URL
    may embed the receiver's Basic-auth password."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name == "webhook" and isinstance(value, str):
                value = redact_url(value)
            yield name, value


class WebhookConfig(_HidesWebhookSecrets):
    """The inbound-SMS webhook of one number."""

    number: str
    webhook: str | None = None
    state: ProvisioningState | None = None


class WebhookResult(_HidesWebhookSecrets):
    """Outcome for one number of a (bulk) webhook update; failures are results too.

    `status` is the per-number HTTP status (201 on success) or None when the
    request for its chunk got no answer; `error` the vendor's message on failure.
    """

    number: str
    status: int | None
    webhook: str | None = None
    state: ProvisioningState | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300
