"""No secret in any error (message, args, repr, chain, raw response) or repr we return.

Issue 8 items 5, 9 and 11. Every error path is walked with `assert_no_secret`.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    APIConnectionError,
    APIStatusError,
    AsyncIntelePeer,
    AsyncYay,
    InvalidInputError,
    NotFoundError,
)
from intelepeer_async._auth import StaticToken

from .conftest import BASE
from .helpers import assert_no_secret
from .loopback import Received, http_response, loopback_server

pytestmark = pytest.mark.anyio

TOKEN = "SECRET-TOKEN-123"
PASSWORD = "SECRET-PASSWORD-9"


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda: AsyncIntelePeer(token=TOKEN + "\n"), "token"),
        (lambda: AsyncIntelePeer(token=TOKEN + "é"), "token"),
        (lambda: AsyncIntelePeer(smartcomm_token="x." + TOKEN + "\r\n.y"), "smartcomm_token"),
        (lambda: AsyncIntelePeer(username="ann", password=PASSWORD + "\n"), "password"),
        (lambda: AsyncYay(reseller="r", user="u", password=PASSWORD + "ü"), "password"),
        (lambda: AsyncYay(reseller="r", user="u", password=PASSWORD + "\n"), "password"),
        (lambda: AsyncYay(reseller="r\tx", user="u", password="p"), "reseller"),
    ],
)
def test_credentials_are_checked_when_the_client_is_built(build: object, argument: str) -> None:
    """Issue 8 item 5: a named, typed error, never the value."""
    with pytest.raises(InvalidInputError) as info:
        build()  # type: ignore[operator]
    assert str(info.value).startswith(argument)
    assert_no_secret(info.value, TOKEN, PASSWORD)


#: What ``os.environ`` gives for a byte that is not UTF-8 (``$'\xe9'``): a lone surrogate.
NOT_UNICODE = "\udce9"


@pytest.mark.parametrize("source", ["arguments", "environment"])
def test_a_password_that_is_not_unicode_is_refused_when_the_client_is_built(
    monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """Review finding 1: a lone surrogate passed the check, then failed to encode at the
    first login with a raw UnicodeEncodeError whose args held the password."""
    password = PASSWORD + NOT_UNICODE
    if source == "environment":
        for name in ("INTELEPEER_TOKEN", "INTELEPEER_SMARTCOMM_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("INTELEPEER_USERNAME", "ann")
        monkeypatch.setenv("INTELEPEER_PASSWORD", password)
        with pytest.raises(InvalidInputError) as info:
            AsyncIntelePeer(base_url=BASE)
    else:
        with pytest.raises(InvalidInputError) as info:
            AsyncIntelePeer(username="ann", password=password, base_url=BASE)
    assert str(info.value).startswith("password")
    assert_no_secret(info.value, PASSWORD)


async def test_extra_headers_with_a_bad_value_are_refused_before_sending(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.get(url__startswith=BASE).respond(200, json={})
    with pytest.raises(InvalidInputError) as info:
        await ip.sms.status("R1", extra_headers={"X-Api-Key": TOKEN + "\n"})
    assert "X-Api-Key" in str(info.value)
    assert_no_secret(info.value, TOKEN)
    assert route.call_count == 0


@pytest.mark.parametrize("value", [TOKEN + "\n", TOKEN + "ü"])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_an_unsendable_header_is_never_sent_and_never_shown(
    value: str, method: str, no_sleep: list[float]
) -> None:
    """Issue 8 items 5 and 9: not "maybe sent", not retried, no value in the chain."""

    async def answer(request: Received) -> bytes | None:
        return http_response(200)

    async with loopback_server(answer) as (base, received):
        ip = AsyncIntelePeer(token="placeholder-token", base_url=base)
        ip._v4_auth = StaticToken(value)  # as if a provider produced it
        with pytest.raises(APIConnectionError) as info:
            await ip._v4(method, f"{base}/x")
        await ip.aclose()
    assert received == []
    assert no_sleep == []  # refused before sending: trying again cannot help
    assert info.value.may_have_been_processed is False
    assert "may have been processed" not in str(info.value)
    assert "Authorization" in str(info.value)
    assert_no_secret(info.value, TOKEN)


async def test_a_yay_status_error_hides_the_auth_headers(mock: respx.MockRouter) -> None:
    """Issue 8 item 11: ``repr(err.response.request.headers)`` showed X-Auth-Password."""
    mock.get(f"{BASE}/voip/flow/gone").respond(
        404, json={"result": {}, "status_code": 404, "status_message": "Not Found"}
    )
    yay = AsyncYay(reseller="r1", user="u1", password=PASSWORD, act_for="sub-9", base_url=BASE)
    with pytest.raises(NotFoundError) as info:
        await yay.callflows.get("gone")
    request = info.value.response.request if info.value.response else None
    assert request is not None
    assert request.method == "GET" and request.url == f"{BASE}/voip/flow/gone"
    assert request.headers["X-Auth-Password"] == "***"
    assert request.headers["User-Agent"].startswith("intelepeer-async/")
    assert_no_secret(info.value, PASSWORD, "r1", "u1", "sub-9")


async def test_every_failure_path_is_free_of_secrets(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    login = f"{BASE}/_rest/v4/authenticate"
    mdr = f"{BASE}/_rest/v4/app/sms/mdr"
    send = f"{BASE}/_rest/v4/app/sms/send"
    errors: list[BaseException] = []

    async def collect(call: object) -> None:
        try:
            await call  # type: ignore[misc]
        except ia.IntelePeerError as exc:
            errors.append(exc)

    def fresh() -> AsyncIntelePeer:
        return AsyncIntelePeer(username="ann", password=PASSWORD, base_url=BASE, max_retries=1)

    mock.post(login).respond(401, json={"error": "Unauthorized"})
    await collect(fresh()._v4("GET", mdr))  # login refused
    mock.post(login).respond(500, json={"error": "down"})
    await collect(fresh()._v4("GET", mdr))  # login failed
    mock.post(login).respond(200, text=f"<html>{TOKEN} is not a token</html>")
    await collect(fresh()._v4("GET", mdr))  # unusable login answer

    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(30)
        return httpx.Response(200)

    mock.post(login).mock(side_effect=slow)
    await collect(fresh().with_options(timeout=0.2)._v4("GET", mdr))  # login timed out
    mock.post(login).respond(200, json={"token": TOKEN})
    ip = fresh()
    mock.post(send).mock(side_effect=httpx.ReadTimeout(f"Illegal header value b'Bearer {TOKEN}'"))
    await collect(ip.sms.send(from_="+13035550100", to="+13035550111", text="hi"))
    mock.post(send).mock(side_effect=httpx.ConnectError(f"cannot connect {TOKEN}"))
    await collect(ip.sms.send(from_="+13035550100", to="+13035550111", text="hi"))
    mock.get(mdr).respond(200, text="<html>proxy</html>")
    await collect(ip.sms.status("R1"))  # unreadable answer
    mock.get(mdr).respond(403, json={"message": "no"})
    await collect(ip.sms.status("R1"))  # status error with a raw response

    assert [type(e).__name__ for e in errors] == [
        "LoginRefusedError",
        "LoginError",
        "LoginError",
        "LoginTimeoutError",
        "APITimeoutError",
        "APIConnectionError",
        "APIResponseValidationError",
        "PermissionDeniedError",
    ]
    for error in errors:
        assert_no_secret(error, TOKEN, PASSWORD)
        assert error.__context__ is None and error.__cause__ is None
    status_error = errors[-1]
    assert isinstance(status_error, APIStatusError) and status_error.response is not None
    assert status_error.response.request is not None
    assert status_error.response.request.headers["Authorization"] == "***"


async def test_webhook_results_hide_the_urls_password(mock: respx.MockRouter) -> None:
    """Issue 8 item 11: ``https://intelepeer:webhook-pass@...`` in a repr."""
    hook = "https://intelepeer:webhook-pass@rx.example.com/sms?key=query-secret"
    mock.post(f"{BASE}/_rest/v4/my/did/sms/webhook").respond(
        201, json={"code": 201, "tnkey": "+12161112222", "webhook": hook}
    )
    mock.get(f"{BASE}/_rest/v4/my/did/sms/webhook").respond(
        200, json={"code": 200, "tnkey": "+12161112222", "webhook": hook}
    )
    async with AsyncIntelePeer(token="ready-token", base_url=BASE) as ip:
        result = await ip.sms.webhooks.set("+12161112222", hook)
        config = await ip.sms.webhooks.get("+12161112222")
    assert result.webhook == hook and config.webhook == hook  # the data is intact
    for shown in (repr(result), str(result), repr(config), str(config), repr([result])):
        assert "webhook-pass" not in shown and "query-secret" not in shown
        assert "https://***@rx.example.com/sms?***" in shown


def test_client_and_url_reprs_hide_userinfo() -> None:
    ip = AsyncIntelePeer(token="ready-token", base_url="https://user:URLPASS@sim.test")
    yay = AsyncYay(reseller="r", user="u", password="p", base_url="https://u:URLPASS@yay.test")
    for shown in (repr(ip), repr(ip.urls), repr(yay)):
        assert "URLPASS" not in shown
        assert "***@" in shown


@pytest.mark.parametrize(
    "call",
    [
        lambda ip: ip.sms.webhooks.set("+12161112222", f"https://u:{PASSWORD}@rx.test:99999/"),
        lambda ip: ip.sms.webhooks.set("+12161112222", f"https://u:{PASSWORD}@[rx.test/"),
        lambda ip: ip.sms.send(
            from_="+13035550100",
            to="+13035550111",
            text="",
            media=[{"data": PASSWORD + "!", "encoding": "base64"}],
        ),
        lambda ip: ip.sms.send(
            from_="+13035550100", to="+13035550111", text="", media=[{"link": PASSWORD}]
        ),
        # Review finding 1: text that is not Unicode (a lone surrogate) cannot be encoded.
        lambda ip: ip.sms.send(
            from_="+13035550100", to="+13035550111", text=PASSWORD + NOT_UNICODE
        ),
        lambda ip: ip.smartflows.trigger(
            "flow", ani="+13035550100", dnis="+13035550111", variables={"N": PASSWORD + "\ud800"}
        ),
        lambda ip: ip.sms.webhooks.set("+12161112222", f"https://u:{PASSWORD}@rx.test/\udc80"),
        lambda ip: ip.sms.webhooks.set(
            ["+12161112222", "+12161112223"], f"https://u:{PASSWORD}@rx.test/\udc80"
        ),
        lambda ip: ip.sms.status(PASSWORD + NOT_UNICODE),
        lambda ip: ip.agents.get(PASSWORD + NOT_UNICODE),
        lambda ip: ip._v4("POST", f"{BASE}/x", json_body={"any": [PASSWORD + NOT_UNICODE]}),
    ],
)
async def test_input_errors_chain_nothing(
    mock: respx.MockRouter, ip: AsyncIntelePeer, call: Any
) -> None:
    """Issue 8 item 9: ``raise ... from None`` still sets ``__context__``."""
    route = mock.route(url__startswith=BASE).respond(201, json={})
    with pytest.raises(InvalidInputError) as info:
        await call(ip)
    assert info.value.__context__ is None
    assert_no_secret(info.value, PASSWORD)
    assert route.call_count == 0
