"""Client configuration, lifecycle and `with_options`."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
import respx

from intelepeer_async import (
    AsyncIntelePeer,
    AsyncYay,
    InvalidInputError,
    NotFoundError,
    ServiceURLs,
    Timeout,
)

from .helpers import fixture_json

FLOW_BODY = fixture_json("callflow_create_body.json")

ENV = (
    "INTELEPEER_TOKEN",
    "INTELEPEER_USERNAME",
    "INTELEPEER_PASSWORD",
    "INTELEPEER_SMARTCOMM_TOKEN",
    "INTELEPEER_CUSTOMER_ID",
    "INTELEPEER_BASE_URL",
    "YAY_RESELLER",
    "YAY_USER",
    "YAY_PASSWORD",
    "YAY_ACT_FOR",
    "YAY_BASE_URL",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTELEPEER_TOKEN", "env-token")
    monkeypatch.setenv("INTELEPEER_CUSTOMER_ID", "12345678")
    monkeypatch.setenv("INTELEPEER_BASE_URL", "http://127.0.0.1:9/")
    ip = AsyncIntelePeer()
    assert ip.customer_id == "12345678"
    assert ip.urls == ServiceURLs.all_at("http://127.0.0.1:9")
    assert ip.urls.v4_token_url == "http://127.0.0.1:9/_rest/v4/authenticate"


def test_explicit_credentials_never_mix_with_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTELEPEER_TOKEN", "stale-env-token")
    ip = AsyncIntelePeer(username="ann", password="pw")
    assert type(ip._v4_auth).__name__ == "LoginToken"


def test_missing_credentials_are_a_typed_error() -> None:
    with pytest.raises(InvalidInputError, match="no credentials"):
        AsyncIntelePeer()
    with pytest.raises(InvalidInputError, match="go together"):
        AsyncIntelePeer(username="ann")


def test_per_service_urls() -> None:
    urls = ServiceURLs(api="https://eu.api.intelepeer.com/")
    ip = AsyncIntelePeer(token="t", urls=urls)
    assert ip.urls.api == "https://eu.api.intelepeer.com"
    assert ip.urls.smartcomm == "https://atmosphere-api.intelepeer.com"
    with pytest.raises(InvalidInputError):
        ServiceURLs(api="ftp://nope")


def test_timeouts_are_never_unbounded() -> None:
    assert AsyncIntelePeer(token="t").timeout == Timeout(total=30.0, connect=5.0)
    assert AsyncIntelePeer(token="t", timeout=2).timeout == Timeout(total=2.0, connect=2.0)
    for bad in (None, 0, -1, float("inf"), float("nan"), "10", True):
        with pytest.raises(InvalidInputError):
            AsyncIntelePeer(token="t", timeout=bad)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_with_options_shares_the_pool_and_only_the_owner_closes_it() -> None:
    ip = AsyncIntelePeer(token="t", timeout=30, max_retries=2)
    fast = ip.with_options(timeout=1.5, max_retries=0)
    assert fast.timeout.total == 1.5
    assert fast.max_retries == 0
    assert ip.timeout.total == 30 and ip.max_retries == 2
    assert fast._core.transport is ip._core.transport
    await fast.aclose()
    assert not ip.is_closed
    async with ip:
        pass
    assert ip.is_closed and fast.is_closed


@pytest.mark.anyio
async def test_user_http_client_is_used_and_never_closed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": 1})

    user_client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncIntelePeer(token="t", http_client=user_client) as ip:
        response = await ip._v4("GET", "https://api.intelepeer.com/x")
    assert response.data == {"ok": 1}
    assert len(seen) == 1
    assert seen[0].headers["User-Agent"].startswith("intelepeer-async/")
    assert not user_client.is_closed
    await user_client.aclose()


def test_reprs_hide_secrets() -> None:
    ip = AsyncIntelePeer(username="ann", password="pa55-SECRET", customer_id=7)
    yay = AsyncYay(reseller="r1", user="u1", password="yay-SECRET")
    for text in (repr(ip), repr(yay), repr(yay._auth), repr(ip._smartcomm_auth)):
        assert "SECRET" not in text
    assert "customer_id='7'" in repr(ip)


def test_yay_requires_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidInputError, match="reseller, user, password"):
        AsyncYay()
    monkeypatch.setenv("YAY_RESELLER", "r")
    monkeypatch.setenv("YAY_USER", "u")
    monkeypatch.setenv("YAY_PASSWORD", "p")
    assert AsyncYay().base_url == "https://api.yay.com"


@pytest.mark.anyio
async def test_yay_headers_and_envelope_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="intelepeer_async")
    yay = AsyncYay(reseller="r1", user="u1", password="yay-SECRET", act_for="sub-9")
    with respx.mock:
        route = respx.get("https://api.yay.com/voip/flow/abc").mock(
            return_value=httpx.Response(
                200, json={"result": {}, "status_code": 404, "status_message": "Not Found"}
            )
        )
        with pytest.raises(NotFoundError) as info:
            await yay._yay("GET", "/voip/flow/abc")
    headers = route.calls[0].request.headers
    assert headers["X-Auth-Reseller"] == "r1"
    assert headers["X-Auth-User"] == "u1"
    assert headers["X-Auth-Password"] == "yay-SECRET"
    assert headers["X-Auth-For"] == "sub-9"
    assert headers["User-Agent"].startswith("intelepeer-async/")
    assert info.value.message == "Not Found"
    assert "yay-SECRET" not in caplog.text
    await yay.aclose()


#: Modules that cannot run under trio by nature, and say so (docstring and README).
ASYNCIO_ONLY = {
    "intelepeer_async/_aiohttp.py",  # aiohttp has no trio support
    "receiver/_redis.py",  # redis-py's asyncio client: detects asyncio to refuse trio
}


def test_library_code_uses_anyio_not_asyncio() -> None:
    """asyncio-only calls would break users on trio; the suite runs under both.

    The one exception: the Redis store and inbox (redis-py runs on asyncio only),
    whose helper checks for asyncio so that trio gets a typed error instead."""
    from pathlib import Path

    root = Path(__file__).parent.parent
    offenders = [
        str(path.relative_to(root))
        for package in ("intelepeer_async", "receiver")
        for path in (root / package).rglob("*.py")
        if "import asyncio" in path.read_text() or "from asyncio" in path.read_text()
    ]
    assert set(offenders) <= ASYNCIO_ONLY
    for name in ASYNCIO_ONLY:
        assert "asyncio only" in (root / name).read_text().split('"""')[1]


def yay_headers(yay: AsyncYay) -> dict[str, str]:
    return yay._auth.headers("")


def test_yay_credentials_never_mix_arguments_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 8 item 13: explicit credentials plus YAY_ACT_FOR acted for someone else."""
    monkeypatch.setenv("YAY_RESELLER", "env-r")
    monkeypatch.setenv("YAY_USER", "env-u")
    monkeypatch.setenv("YAY_PASSWORD", "env-p")
    monkeypatch.setenv("YAY_ACT_FOR", "someone-else")
    explicit = AsyncYay(reseller="r1", user="u1", password="p1")
    assert explicit.act_for is None
    assert "X-Auth-For" not in yay_headers(explicit)
    assert yay_headers(explicit)["X-Auth-User"] == "u1"
    assert (
        yay_headers(AsyncYay(reseller="r1", user="u1", password="p1", act_for="mine"))["X-Auth-For"]
        == "mine"
    )
    from_env = AsyncYay()
    assert yay_headers(from_env)["X-Auth-For"] == "someone-else"
    assert yay_headers(from_env)["X-Auth-User"] == "env-u"
    switched_off = AsyncYay(act_for="")
    assert switched_off.act_for is None
    assert "X-Auth-For" not in yay_headers(switched_off)
    with pytest.raises(InvalidInputError, match="go together"):
        AsyncYay(reseller="r1")


PER_CALL = [
    (
        "smartflows.trigger",
        lambda ip, yay, o: ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213", **o),
    ),
    (
        "sms.send",
        lambda ip, yay, o: ip.sms.send(from_="+13035550100", to="+13035550111", text="hi", **o),
    ),
    ("sms.status", lambda ip, yay, o: ip.sms.status("R1", **o)),
    ("sms.provision", lambda ip, yay, o: ip.sms.provision("+13035550122", **o)),
    (
        "webhooks.set one",
        lambda ip, yay, o: ip.sms.webhooks.set("+12161112222", "https://rx.test/sms", **o),
    ),
    (
        "webhooks.set many",
        lambda ip, yay, o: ip.sms.webhooks.set(
            ["+12161112222", "+12161112223"], "https://rx.test/sms", **o
        ),
    ),
    ("webhooks.get", lambda ip, yay, o: ip.sms.webhooks.get("+12161112222", **o)),
    ("agents.list", lambda ip, yay, o: ip.agents.list(**o)),
    ("agents.get", lambda ip, yay, o: ip.agents.get("u1", **o)),
    (
        "agents.onboard",
        lambda ip, yay, o: ip.agents.onboard(
            user_object_id="u", tenant_id="t", phone_number="+18680831601", **o
        ),
    ),
    ("agents.update", lambda ip, yay, o: ip.agents.update("u1", upn="a@b", **o)),
    ("agents.offboard", lambda ip, yay, o: ip.agents.offboard("u1", **o)),
    ("callflows.list", lambda ip, yay, o: yay.callflows.list(**o)),
    ("callflows.get", lambda ip, yay, o: yay.callflows.get("f1", **o)),
    ("callflows.create", lambda ip, yay, o: yay.callflows.create(FLOW_BODY, **o)),
    ("callflows.update", lambda ip, yay, o: yay.callflows.update("f1", FLOW_BODY, **o)),
    ("callflows.delete", lambda ip, yay, o: yay.callflows.delete("f1", **o)),
    ("callflows.next_extension", lambda ip, yay, o: yay.callflows.next_extension(**o)),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "call"), PER_CALL, ids=[name for name, _ in PER_CALL])
async def test_every_public_call_takes_extra_headers_and_a_timeout(
    vendor: respx.MockRouter, name: str, call: Any
) -> None:
    """Issue 8 item 21: per call, as openai/stripe users expect."""
    async with AsyncIntelePeer(timeout=30) as ip, AsyncYay(timeout=30) as yay:
        before = len(vendor.calls)
        await call(ip, yay, {"extra_headers": {"X-Trace": "t-1"}, "timeout": 7})
    sent = [c.request for c in vendor.calls[before:] if "authenticate" not in str(c.request.url)]
    assert sent, name
    for request in sent:
        assert request.headers["X-Trace"] == "t-1"
        read = request.extensions["timeout"]["read"]
        assert 6 < read <= 7  # the call's own budget, not the client's 30 s


@pytest.mark.anyio
async def test_extra_headers_win_and_full_credentials_replace_the_clients(
    mock: respx.MockRouter,
) -> None:
    login = mock.post("https://ip.test/_rest/v4/authenticate").respond(
        200, json={"token": "account-token"}
    )
    mdr = mock.get(url__startswith="https://ip.test/_rest/v4/app/sms/mdr").respond(200, json={})
    flows = mock.get("https://ip.test/voip/flow").respond(200, json={"result": []})
    async with AsyncIntelePeer(username="ann", password="pw", base_url="https://ip.test") as ip:
        await ip.sms.status("R1", extra_headers={"Authorization": "Bearer my-own-token"})
    assert login.call_count == 0  # the caller brought the credentials: no login
    assert mdr.calls[0].request.headers["Authorization"] == "Bearer my-own-token"
    async with AsyncYay(
        reseller="r1", user="u1", password="p1", act_for="sub-1", base_url="https://ip.test"
    ) as yay:
        await yay.callflows.list(extra_headers={"X-Auth-For": "sub-2", "User-Agent": "mine/1"})
    headers = flows.calls[0].request.headers
    assert headers["X-Auth-For"] == "sub-2"  # this call acts for another sub-account
    assert headers["X-Auth-Password"] == "p1"  # with the client's credentials
    assert headers["User-Agent"] == "mine/1"
