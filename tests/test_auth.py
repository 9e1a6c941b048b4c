"""Credentials: lazy login, refresh before expiry and on 401, single-flight."""

from __future__ import annotations

import json
import logging

import anyio
import httpx
import pytest
import respx

from intelepeer_async import AsyncIntelePeer, AuthenticationError, IntelePeerError
from intelepeer_async._auth import LoginToken, StaticToken, extract_token, token_lifetime

from .helpers import make_jwt

pytestmark = pytest.mark.anyio

BASE = "https://ip.test"
AUTH_URL = f"{BASE}/_rest/v4/authenticate"
SC_AUTH_URL = f"{BASE}/rest/v1/authenticate"
API_URL = f"{BASE}/_rest/v4/app/sms/mdr"
PASSWORD = "hunter2-very-secret"


def client(**kwargs: object) -> AsyncIntelePeer:
    options: dict[str, object] = {"base_url": BASE, "max_retries": 0}
    options.update(kwargs)
    return AsyncIntelePeer(**options)  # type: ignore[arg-type]


def tokens(*values: str) -> list[httpx.Response]:
    return [httpx.Response(200, json={"token": v}) for v in values]


async def test_login_is_lazy_and_cached(mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("tok-1"))
    api = mock.get(API_URL).mock(return_value=httpx.Response(200, json={}))
    ip = client(username="ann", password=PASSWORD)
    assert auth.call_count == 0
    await ip._v4("GET", API_URL)
    await ip._v4("GET", API_URL)
    assert auth.call_count == 1
    sent = json.loads(auth.calls[0].request.content)
    assert sent == {"username": "ann", "password": PASSWORD}
    assert auth.calls[0].request.headers["Accept"] == "application/json"
    assert api.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert api.calls[1].request.headers["Authorization"] == "Bearer tok-1"
    await ip.aclose()


async def test_401_refreshes_once_then_retries(mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("old", "new"))
    api = mock.post(API_URL).mock(
        side_effect=[httpx.Response(401, json={"error": "token has expired"}), httpx.Response(200)]
    )
    ip = client(username="ann", password=PASSWORD)
    # A POST (not idempotent) is still resent: a 401 means it was not processed.
    await ip._v4("POST", API_URL)
    assert auth.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == ["Bearer old", "Bearer new"]


async def test_401_twice_raises_after_one_refresh(mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("a", "b", "c"))
    api = mock.get(API_URL).mock(return_value=httpx.Response(401, json={"detail": "unauthorized"}))
    with pytest.raises(AuthenticationError) as info:
        await client(username="ann", password=PASSWORD)._v4("GET", API_URL)
    assert info.value.message == "unauthorized"
    assert auth.call_count == 2
    assert api.call_count == 2


async def test_static_token_401_is_final(mock: respx.MockRouter) -> None:
    api = mock.get(API_URL).mock(return_value=httpx.Response(401, json={"error": "Unauthorized"}))
    with pytest.raises(AuthenticationError):
        await client(token="ready")._v4("GET", API_URL)
    assert api.call_count == 1
    assert api.calls[0].request.headers["Authorization"] == "Bearer ready"


async def test_bad_login_raises_authentication_error(mock: respx.MockRouter) -> None:
    mock.post(AUTH_URL).mock(
        return_value=httpx.Response(401, json={"code": 401, "error": "Unauthorized"})
    )
    api = mock.get(API_URL).mock(return_value=httpx.Response(200))
    with pytest.raises(AuthenticationError) as info:
        await client(username="ann", password=PASSWORD)._v4("GET", API_URL)
    assert info.value.message == "Unauthorized"
    assert PASSWORD not in str(info.value)
    assert api.call_count == 0


async def test_single_flight_under_500_concurrent_calls(mock: respx.MockRouter) -> None:
    gate = anyio.Event()

    async def slow_login(request: httpx.Request) -> httpx.Response:
        await gate.wait()  # held until every caller is waiting for a token
        return httpx.Response(200, json={"token": "shared"})

    auth = mock.post(AUTH_URL).mock(side_effect=slow_login)
    api = mock.get(API_URL).mock(return_value=httpx.Response(200, json={}))
    ip = client(username="ann", password=PASSWORD)
    async with anyio.create_task_group() as tg:
        for _ in range(500):
            tg.start_soon(ip._v4, "GET", API_URL)
        await anyio.wait_all_tasks_blocked()
        assert api.call_count == 0
        gate.set()
    assert auth.call_count == 1
    assert api.call_count == 500
    assert {c.request.headers["Authorization"] for c in api.calls} == {"Bearer shared"}
    await ip.aclose()


async def test_single_flight_on_concurrent_401s(mock: respx.MockRouter) -> None:
    """500 calls that all get a 401 with the old token cause one new login."""
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("old", "new", "newer"))

    def answer(request: httpx.Request) -> httpx.Response:
        ok = request.headers["Authorization"] == "Bearer new"
        return httpx.Response(200 if ok else 401)

    api = mock.get(API_URL).mock(side_effect=answer)
    ip = client(username="ann", password=PASSWORD)
    await ip._v4("GET", API_URL)  # first call: old -> 401 -> new
    assert auth.call_count == 2
    async with anyio.create_task_group() as tg:
        for _ in range(500):
            tg.start_soon(ip._v4, "GET", API_URL)
    assert auth.call_count == 2
    assert api.call_count == 502


async def test_refresh_before_expiry() -> None:
    now = [1000.0]
    logins: list[str] = []

    async def login() -> object:
        token = make_jwt({"crt": 0, "exp": 600, "n": len(logins)})
        logins.append(token)
        return {"token": token}

    provider = LoginToken(login, clock=lambda: now[0])
    first = await provider.token()
    now[0] += 539  # lifetime 600 s, margin 60 s: still fresh
    assert await provider.token() == first
    now[0] += 2  # within the margin: refreshed before it lapses
    second = await provider.token()
    assert second != first
    assert len(logins) == 2


async def test_smartcommunicator_sends_bare_jwt(mock: respx.MockRouter) -> None:
    jwt = make_jwt({"aid": 0, "cid": 1, "crt": 1711986489, "exp": 1712072890, "uid": "u"})
    mock.post(SC_AUTH_URL).mock(return_value=httpx.Response(200, text=jwt))
    v4_auth = mock.post(AUTH_URL).mock(side_effect=tokens("v4"))
    api = mock.get(f"{BASE}/rest/v1/smartcomm/1/agents").mock(return_value=httpx.Response(200))
    ip = client(username="ann", password=PASSWORD)
    await ip._smartcomm("GET", f"{BASE}/rest/v1/smartcomm/1/agents")
    assert api.calls[0].request.headers["Authorization"] == jwt
    assert v4_auth.call_count == 0


def test_extract_token_shapes() -> None:
    assert extract_token({"token": "a"}) == "a"
    assert extract_token({"access_token": "b"}) == "b"
    assert extract_token({"data": {"jwt": "c"}}) == "c"
    assert extract_token('"d"') == "d"
    assert extract_token("e.f.g\n") == "e.f.g"
    with pytest.raises(IntelePeerError) as info:
        extract_token({"tokn": "secret-value"})
    assert "secret-value" not in str(info.value)


def test_token_lifetime() -> None:
    # The seed's SmartCommunicator token: exp - crt = 86401 s, whatever the local clock says.
    seed = make_jwt({"crt": 1711986489, "exp": 1712072890})
    assert token_lifetime(seed, default=5.0) == 86401.0
    assert token_lifetime(make_jwt({"exp": 1100}), default=5.0, now=1000.0) == 100.0
    assert token_lifetime(make_jwt({"exp": 900}), default=5.0, now=1000.0) == 0.0
    assert token_lifetime("opaque-portal-token", default=5.0) == 5.0
    assert token_lifetime("a.!!!.c", default=5.0) == 5.0
    assert token_lifetime(make_jwt({"exp": "soon"}), default=5.0) == 5.0


async def test_no_secret_in_logs_reprs_or_errors(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intelepeer_async")
    mock.post(AUTH_URL).mock(side_effect=tokens("tok-SECRET-1", "tok-SECRET-2"))
    mock.get(API_URL).mock(
        side_effect=[httpx.Response(401), httpx.Response(500), httpx.Response(200)]
    )
    ip = AsyncIntelePeer(username="ann", password=PASSWORD, base_url=BASE)
    await ip.with_options(max_retries=1)._v4("GET", API_URL)
    texts = [caplog.text, repr(ip), repr(ip._v4_auth), str(ip._v4_auth)]
    assert caplog.records, "the core logs each attempt at DEBUG"
    for text in texts:
        assert PASSWORD not in text
        assert "tok-SECRET" not in text
    assert repr(StaticToken("tok-SECRET-3")).count("tok-SECRET") == 0
