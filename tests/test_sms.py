"""ip.sms: send, status, provision: exact requests and parsing."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    APITimeoutError,
    AsyncIntelePeer,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IntelePeerError,
    InvalidInputError,
    Media,
    MessageState,
    NotFoundError,
    PermissionDeniedError,
    ProvisioningState,
)

from .conftest import BASE
from .helpers import sent_json

pytestmark = pytest.mark.anyio

SEND = f"{BASE}/_rest/v4/app/sms/send"
MDR = f"{BASE}/_rest/v4/app/sms/mdr"
PROVISION = f"{BASE}/_rest/v4/my/did/sms/provision"


async def test_send_exact_request(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(SEND).mock(return_value=httpx.Response(202, json={"refid": "R1"}))
    result = await ip.sms.send(from_="+13035550100", to="+13035550111", text="Hello World!")
    request = route.calls[0].request
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert sent_json(route) == {
        "from": "+13035550100",
        "to": "+13035550111",
        "text": "Hello World!",
    }
    assert result.status_code == 202
    assert result.refid == "R1"
    assert result.raw == {"refid": "R1"}


async def test_send_all_options(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(SEND).mock(return_value=httpx.Response(200, json=[{"anything": 1}]))
    data = base64.b64encode(b"GIF89a").decode()
    result = await ip.sms.send(
        from_="57-Hello8",
        to="+447700900123",
        text="see attached",
        guid="order-42",
        dlr=True,
        include_accepted=True,
        media=[
            Media(link="cpaasmedia://abc"),
            {"data": data, "encoding": "base64", "content-type": "image/gif", "filename": "a.gif"},
        ],
    )
    assert sent_json(route) == {
        "from": "57-Hello8",
        "to": "+447700900123",
        "text": "see attached",
        "guid": "order-42",
        "dlr": True,
        "dlroptions": {"include-accepted": True},
        "media": [
            {"link": "cpaasmedia://abc"},
            {"data": data, "encoding": "base64", "content-type": "image/gif", "filename": "a.gif"},
        ],
    }
    assert result.raw == [{"anything": 1}]
    assert result.refid is None


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"from_": "3035550100"}, "from_"),
        ({"to": "13035550111"}, "to"),
        ({"to": "1-12345"}, "to"),
        ({"text": ""}, "text"),
        ({"include_accepted": True}, "include_accepted"),
        ({"guid": ""}, "guid"),
        ({"media": [{"link": "ftp://x"}]}, "media[0]"),
        ({"media": [{"data": "AAAA"}]}, "encoding"),
        ({"media": [{"link": "https://x", "data": "AAAA", "encoding": "base64"}]}, "exactly one"),
        ({"media": [{"data": "not base64!", "encoding": "base64"}]}, "base64"),
    ],
)
async def test_send_rejects_bad_input_before_sending(
    mock: respx.MockRouter, ip: AsyncIntelePeer, kwargs: dict[str, object], problem: str
) -> None:
    route = mock.post(SEND).mock(return_value=httpx.Response(202))
    args: dict[str, object] = {"from_": "+13035550100", "to": "+13035550111", "text": "hi"}
    args.update(kwargs)
    with pytest.raises(InvalidInputError, match=problem.replace("[", r"\[")):
        await ip.sms.send(**args)  # type: ignore[arg-type]
    assert route.call_count == 0


async def test_inline_media_over_5_mb_is_rejected(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.post(SEND).mock(return_value=httpx.Response(202))
    three_mb = base64.b64encode(b"\0" * (3 * 1024 * 1024)).decode()
    media = [Media(data=three_mb, encoding="base64"), Media(data=three_mb, encoding="base64")]
    with pytest.raises(InvalidInputError, match="5 MB"):
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="", media=media)
    assert route.call_count == 0
    # Exactly 5 MB in all is accepted; an MMS may have no text.
    five_mb = base64.b64encode(b"\0" * (5 * 1024 * 1024)).decode()
    await ip.sms.send(
        from_="+13035550100",
        to="+13035550111",
        text="",
        media=[Media(data=five_mb, encoding="base64")],
    )
    assert route.call_count == 1


async def test_send_is_never_resent_after_a_read_timeout(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    route = mock.post(SEND).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError, match="may have been processed"):
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")
    assert route.call_count == 1


async def test_send_is_retried_when_refused_with_503(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    route = mock.post(SEND).mock(side_effect=[httpx.Response(503), httpx.Response(202)])
    await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (403, PermissionDeniedError), (404, NotFoundError)],
)
async def test_send_error_statuses(
    mock: respx.MockRouter, ip: AsyncIntelePeer, status: int, error: type[Exception]
) -> None:
    mock.post(SEND).mock(return_value=httpx.Response(status, json={"message": "why"}))
    with pytest.raises(error, match="why"):
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")


async def test_status_get_parses_the_documented_record(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.get(MDR).mock(
        return_value=httpx.Response(200, content=b'{"code":200,"RCC_en":"Queued","RCC":0}')
    )
    status = await ip.sms.status("ABCDEF1234567890ABCDEF1234567890")
    assert route.calls[0].request.url.params["refid"] == "ABCDEF1234567890ABCDEF1234567890"
    assert (status.code, status.rcc, status.rcc_en) == (200, 0, "Queued")
    assert status.state is MessageState.QUEUED
    assert status.model_dump()["state"] == "queued"


async def test_status_post_variant(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(MDR).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"RCC_en": "Sent"})]
    )
    status = await ip.with_options(max_retries=1).sms.status("R1", method="POST")
    assert sent_json(route) == {"refid": "R1"}
    assert route.call_count == 2  # a read, so retried even as a POST
    assert status.state is MessageState.SENT


@pytest.mark.parametrize(
    ("rcc_en", "state"),
    [
        ("Queued", MessageState.QUEUED),
        ("Processing", MessageState.PROCESSING),
        ("Failed", MessageState.FAILED),
        ("Sent", MessageState.SENT),
        ("DLR:Delivered", MessageState.DELIVERED),
        ("DLR:Expired", MessageState.EXPIRED),
        ("DLR:Deleted", MessageState.DELETED),
        ("DLR:Undeliverable", MessageState.UNDELIVERABLE),
        ("DLR:Accepted", MessageState.ACCEPTED),
        ("DLR:Unknown", MessageState.UNKNOWN),
        ("DLR:Rejected", MessageState.REJECTED),
        ("DLR:SomethingNew", MessageState.UNKNOWN),
        ("", MessageState.UNKNOWN),
    ],
)
async def test_status_states(
    mock: respx.MockRouter, ip: AsyncIntelePeer, rcc_en: str, state: MessageState
) -> None:
    mock.get(MDR).mock(return_value=httpx.Response(200, json={"code": 200, "RCC_en": rcc_en}))
    assert (await ip.sms.status("R")).state is state


@pytest.mark.parametrize("body", [b'{"detail":"unauthorized"}', b'{"error":"token has expired"}'])
async def test_status_401_bodies(mock: respx.MockRouter, ip: AsyncIntelePeer, body: bytes) -> None:
    mock.get(MDR).mock(return_value=httpx.Response(401, content=body))
    with pytest.raises(AuthenticationError) as info:
        await ip.sms.status("R")
    assert info.value.message == json.loads(body).popitem()[1]


async def test_status_404(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    mock.get(MDR).mock(return_value=httpx.Response(404, json={"message": "record not found"}))
    with pytest.raises(NotFoundError):
        await ip.sms.status("R")


async def test_provision(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(PROVISION).mock(
        return_value=httpx.Response(
            202, content=b'{"code":202,"provisioning":{"state":"requested"}}'
        )
    )
    result = await ip.sms.provision("+13035550100")
    assert sent_json(route) == {"endpoints": ["+13035550100"]}
    assert result.code == 202
    assert result.state is ProvisioningState.REQUESTED


async def test_provision_conflict(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(PROVISION).mock(
        return_value=httpx.Response(409, json={"message": "provisioning already in progress"})
    )
    with pytest.raises(ConflictError, match="already in progress"):
        await ip.sms.provision("+13035550100")
    assert route.call_count == 1
    with pytest.raises(InvalidInputError):
        await ip.sms.provision("3035550100")


@pytest.mark.parametrize(("status", "error"), [(400, BadRequestError), (401, AuthenticationError)])
async def test_provision_documented_errors(
    mock: respx.MockRouter, ip: AsyncIntelePeer, status: int, error: type[Exception]
) -> None:
    mock.post(PROVISION).mock(return_value=httpx.Response(status, json={"message": "reason"}))
    with pytest.raises(error, match="reason"):
        await ip.sms.provision("+13035550100")


async def test_an_odd_record_is_read_leniently(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    """Issue 8 item 14: ``RCC="zero"`` raised a raw ValidationError."""
    body = {"code": 200, "RCC_en": "DLR:Delivered", "RCC": "zero"}
    mock.get(MDR).respond(200, json=body)
    status = await ip.sms.status("R1")
    assert status.rcc is None
    assert status.state is MessageState.DELIVERED
    assert status.raw == body


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(200, text="<html>Proxy login</html>"), httpx.Response(200, json=[1])],
)
async def test_an_unreadable_record_is_an_error(
    mock: respx.MockRouter, ip: AsyncIntelePeer, answer: httpx.Response
) -> None:
    """Issue 8 item 16: an HTML page gave a MessageStatus of all None."""
    mock.get(MDR).mock(return_value=answer)
    with pytest.raises(IntelePeerError) as info:
        await ip.sms.status("R1")
    assert isinstance(info.value, ia.APIResponseValidationError)
    assert info.value.status_code == 200


async def test_a_billed_send_returns_whatever_its_answer(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    mock.post(SEND).respond(202, text="<html>Accepted</html>")
    result = await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")
    assert result.status_code == 202
    assert result.raw == "<html>Accepted</html>"


#: More nesting than ``json.loads`` can follow: it raises RecursionError.
TOO_DEEP = b"[" * 100_000 + b"]" * 100_000


async def test_an_answer_nested_too_deeply_to_parse_is_kept_as_text(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    """Review finding 4: a raw RecursionError, even after a billed 202."""
    route = mock.post(SEND).respond(202, content=TOO_DEEP)
    result = await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")
    assert route.call_count == 1
    assert (result.status_code, result.refid) == (202, None)
    assert result.raw == TOO_DEEP.decode()
    mock.get(MDR).respond(200, content=TOO_DEEP)
    with pytest.raises(ia.APIResponseValidationError) as info:
        await ip.sms.status("R1")
    assert info.value.status_code == 200


async def test_mime_base64_with_line_breaks_is_accepted(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    """Issue 8 item 20: ``base64.encodebytes`` breaks lines every 76 characters."""
    route = mock.post(SEND).respond(202, json={})
    picture = bytes(range(256)) * 4
    mime = base64.encodebytes(picture).decode()
    assert "\n" in mime
    media = Media(data=mime, encoding="base64", content_type="image/png")
    assert media.inline_size() == len(picture)
    await ip.sms.send(from_="+13035550100", to="+13035550111", text="", media=[media])
    sent = sent_json(route)["media"][0]["data"]
    assert sent == base64.b64encode(picture).decode()
    assert base64.b64decode(sent, validate=True) == picture


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"link": "ftp://example.com/secret-a.jpg"}, "http, https or cpaasmedia"),
        ({"link": "https://a/secret.jpg", "data": "c2VjcmV0", "encoding": "base64"}, "exactly one"),
        ({"data": "c2VjcmV0"}, "needs encoding="),
        ({"link": "https://a/secret.jpg", "colour": "secret"}, "colour"),
        ({"link": 12345}, "link"),
    ],
)
def test_media_built_by_hand_raises_a_typed_error_that_quotes_no_input(
    fields: dict[str, Any], problem: str
) -> None:
    """Review finding 10: Media(...) raised pydantic's ValidationError, quoting the input."""
    with pytest.raises(InvalidInputError, match=problem) as info:
        Media(**fields)
    assert "secret" not in str(info.value)
    assert "12345" not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
