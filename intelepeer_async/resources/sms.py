"""SMS/MMS: send, delivery status, provisioning (``ip.sms``); webhooks (``ip.sms.webhooks``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from ..errors import MAX_DATA_NESTING, InvalidInputError
from ..models.sms import (
    MAX_INLINE_MEDIA_BYTES,
    Media,
    MessageStatus,
    ProvisioningResult,
    SendResult,
    media_problem,
    provisioning_state,
)
from ..types import (
    Timeout,
    is_unicode,
    not_unicode,
    validate_e164,
    validate_sender,
    validate_text,
)
from .webhooks import Webhooks

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer

__all__ = ["Sms"]


def _media(items: Sequence[Media | Mapping[str, Any]]) -> list[dict[str, Any]]:
    parsed: list[Media] = []
    for index, item in enumerate(items):
        problem = None
        try:
            parsed.append(item if isinstance(item, Media) else Media.model_validate(item))
        except ValidationError as exc:
            problem = media_problem(exc)
        if problem is not None:  # raised outside the handler: pydantic's error quotes the input
            raise InvalidInputError(f"media[{index}]: {problem}")
    total = sum(m.inline_size() for m in parsed)
    if total > MAX_INLINE_MEDIA_BYTES:
        raise InvalidInputError(
            f"inline media is {total} bytes; IntelePeer accepts at most "
            f"{MAX_INLINE_MEDIA_BYTES} (5 MB): send large files as link= instead"
        )
    return [m.wire() for m in parsed]


def _find_refid(body: object) -> str | None:
    """The message's refid, at the top of the answer or under (a few levels of) ``data``."""
    for _ in range(MAX_DATA_NESTING):
        if not isinstance(body, Mapping):
            return None
        for key in ("refid", "refId", "messageId", "message_id"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        body = body.get("data")
    return None


class Sms:
    """Atmosphere messaging for one client."""

    def __init__(self, client: AsyncIntelePeer) -> None:
        self._client = client
        self.webhooks = Webhooks(client)

    async def send(
        self,
        *,
        from_: str,
        to: str,
        text: str,
        guid: str | None = None,
        dlr: bool = False,
        include_accepted: bool = False,
        media: Sequence[Media | Mapping[str, Any]] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> SendResult:
        """Send an SMS, or an MMS when `media` is given. Billed: never resent blindly.

        `from_` is E.164, a short code (``1-12345``) or an alphanumeric sender
        (``57-Hello8``); `to` is E.164. `guid` is your correlation id, copied into
        the message record. `dlr` asks for delivery receipts, and
        `include_accepted` for the "accepted" receipt as well. After a read
        timeout this raises `APITimeoutError` with ``may_have_been_processed``:
        check before sending again. Whatever a 2xx answer's body holds (its
        shape is undocumented), the result is returned with it in `raw` (None
        when the body could not be decoded, a broken gzip stream, say).
        """
        body: dict[str, Any] = {
            "from": validate_sender(from_, "from_"),
            "to": validate_e164(to, "to"),
            "text": self._text(text, has_media=bool(media)),
        }
        if guid is not None:
            if not isinstance(guid, str) or not guid:
                raise InvalidInputError("guid must be a non-empty string")
            body["guid"] = guid
        if include_accepted and not dlr:
            raise InvalidInputError("include_accepted=True needs dlr=True")
        if dlr:
            body["dlr"] = True
            body["dlroptions"] = {"include-accepted": include_accepted}
        if media:
            body["media"] = _media(media)
        url = f"{self._client.urls.api}/_rest/v4/app/sms/send"
        response = await self._client._v4(
            "POST", url, json_body=body, extra_headers=extra_headers, timeout=timeout
        )
        return SendResult(
            status_code=response.status_code, raw=response.data, refid=_find_refid(response.data)
        )

    @staticmethod
    def _text(text: object, *, has_media: bool) -> str:
        if not isinstance(text, str):
            raise InvalidInputError("text must be a string")
        if not text and not has_media:
            raise InvalidInputError("text must not be empty (an MMS may have media alone)")
        if not is_unicode(text):
            raise not_unicode("text")
        return text

    async def status(
        self,
        refid: str,
        *,
        method: Literal["GET", "POST"] = "GET",
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> MessageStatus:
        """The delivery state of a sent SMS (MMS has no record here).

        The vendor's pages disagree on GET (``?refid=``) or POST (JSON body); GET is
        the default and ``method="POST"`` sends ``{"refid": ...}`` instead. Either
        way it is a read, so it is retried like one. An answer that is not a JSON
        object raises `APIResponseValidationError`.
        """
        validate_text(refid, "refid")
        url = f"{self._client.urls.api}/_rest/v4/app/sms/mdr"
        options: dict[str, Any] = {"extra_headers": extra_headers, "timeout": timeout}
        if method == "GET":
            response = await self._client._v4("GET", url, params={"refid": refid}, **options)
        elif method == "POST":
            response = await self._client._v4(
                "POST", url, json_body={"refid": refid}, idempotent=True, **options
            )
        else:
            raise InvalidInputError("method must be 'GET' or 'POST'")
        data = response.data
        if not isinstance(data, Mapping):
            raise response.unreadable("the message record is not a JSON object")
        status = MessageStatus.model_validate(data)
        status.raw = data
        return status

    async def provision(
        self,
        number: str,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> ProvisioningResult:
        """Ask IntelePeer to enable SMS on `number` (takes minutes; poll the webhook state).

        A 409 (`ConflictError`) means provisioning is already in progress.
        """
        body = {"endpoints": [validate_e164(number, "number")]}
        url = f"{self._client.urls.api}/_rest/v4/my/did/sms/provision"
        response = await self._client._v4(
            "POST", url, json_body=body, extra_headers=extra_headers, timeout=timeout
        )
        data = response.data
        code = data.get("code") if isinstance(data, Mapping) else None
        return ProvisioningResult(
            code=code if isinstance(code, int) else response.status_code,
            state=provisioning_state(data),
            raw=data,
        )
