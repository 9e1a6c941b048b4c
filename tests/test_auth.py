"""Credentials: lazy login within the call's budget, refresh before expiry and on
401, single flight with shared failures, and only well-formed tokens."""

from __future__ import annotations

import json
import logging

import anyio
import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    APITimeoutError,
    AsyncIntelePeer,
    AuthenticationError,
    IntelePeerError,
    InternalServerError,
    _auth,
)
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


def aged(ip: AsyncIntelePeer) -> AsyncIntelePeer:
    """Let a 401 count as a stale token at once (no FRESH_TOKEN_GRACE)."""
    assert isinstance(ip._v4_auth, LoginToken)
    ip._v4_auth.fresh_grace = 0.0
    return ip


class Hang:
    """A login that never answers, or only from request `answers_from` on; counts
    its requests (respx records only the answered ones)."""

    def __init__(self, answers_from: int | None = None) -> None:
        self.calls = 0
        self.answers_from = answers_from

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.answers_from is None or self.calls < self.answers_from:
            await anyio.sleep(60)
        return httpx.Response(200, json={"token": f"token-number-{self.calls}"})


async def outcome(call: object) -> BaseException | None:
    """The exception an awaitable ends with, or None (so tasks never raise)."""
    try:
        await call  # type: ignore[misc]
    except Exception as exc:
        return exc
    return None


SEND = f"{BASE}/_rest/v4/app/sms/send"


async def send(ip: AsyncIntelePeer) -> object:
    return await ip.sms.send(from_="+13035550100", to="+13035550111", text="hi")


async def test_login_is_lazy_and_cached(mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("token-0001"))
    api = mock.get(API_URL).mock(return_value=httpx.Response(200, json={}))
    ip = client(username="ann", password=PASSWORD)
    assert auth.call_count == 0
    await ip._v4("GET", API_URL)
    await ip._v4("GET", API_URL)
    assert auth.call_count == 1
    sent = json.loads(auth.calls[0].request.content)
    assert sent == {"username": "ann", "password": PASSWORD}
    assert auth.calls[0].request.headers["Accept"] == "application/json"
    assert api.calls[0].request.headers["Authorization"] == "Bearer token-0001"
    assert api.calls[1].request.headers["Authorization"] == "Bearer token-0001"
    await ip.aclose()


async def test_401_on_an_old_token_refreshes_once_then_resends(mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("token-old", "token-new"))
    api = mock.post(API_URL).mock(
        side_effect=[httpx.Response(401, json={"error": "token has expired"}), httpx.Response(200)]
    )
    ip = aged(client(username="ann", password=PASSWORD))
    # A POST (not idempotent) is still resent: a 401 means it was not processed.
    await ip._v4("POST", API_URL)
    assert auth.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer token-old",
        "Bearer token-new",
    ]


async def test_401_twice_raises_after_one_refresh(mock: respx.MockRouter) -> None:
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("token-aa", "token-bb", "token-cc"))
    api = mock.get(API_URL).mock(return_value=httpx.Response(401, json={"detail": "unauthorized"}))
    with pytest.raises(AuthenticationError) as info:
        await aged(client(username="ann", password=PASSWORD))._v4("GET", API_URL)
    assert info.value.message == "unauthorized"
    assert auth.call_count == 2
    assert api.call_count == 2


async def test_401_on_a_fresh_token_is_the_apis_answer(mock: respx.MockRouter) -> None:
    """Issue 8 item 7: ten sends answered 401 make one login and ten POSTs."""
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("token-fresh", "token-other"))
    business = {"status": "error", "message": "Azure Object ID is not registered"}
    api = mock.post(API_URL).mock(return_value=httpx.Response(401, json=business))
    ip = client(username="ann", password=PASSWORD)
    async with anyio.create_task_group() as tg:
        errors: list[BaseException | None] = []

        async def one() -> None:
            errors.append(await outcome(ip._v4("POST", API_URL)))

        for _ in range(10):
            tg.start_soon(one)
    assert auth.call_count == 1
    assert api.call_count == 10
    assert all(isinstance(e, AuthenticationError) for e in errors)
    assert {e.message for e in errors if isinstance(e, AuthenticationError)} == {
        "Azure Object ID is not registered"
    }
    api.mock(return_value=httpx.Response(200))
    await ip._v4("POST", API_URL)  # the token was kept
    assert auth.call_count == 1
    assert api.calls[-1].request.headers["Authorization"] == "Bearer token-fresh"


@pytest.mark.parametrize(
    "expired",
    [{"error": "token has expired"}, {"message": "Token has expired", "status": 401}],
)
async def test_a_401_saying_the_token_expired_is_expiry_however_young(
    mock: respx.MockRouter, expired: dict[str, object]
) -> None:
    """A token the server calls expired is replaced even within FRESH_TOKEN_GRACE (a
    virtual clock, or a server that revoked it early), and the call is resent once."""
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("token-first", "token-second"))
    api = mock.post(API_URL).mock(
        side_effect=[httpx.Response(401, json=expired), httpx.Response(200, json={})]
    )
    ip = client(username="ann", password=PASSWORD)
    await ip._v4("POST", API_URL)
    assert auth.call_count == 2
    assert [c.request.headers["Authorization"] for c in api.calls] == [
        "Bearer token-first",
        "Bearer token-second",
    ]


async def test_static_token_401_is_final(mock: respx.MockRouter) -> None:
    api = mock.get(API_URL).mock(return_value=httpx.Response(401, json={"error": "Unauthorized"}))
    with pytest.raises(AuthenticationError):
        await client(token="ready-token")._v4("GET", API_URL)
    assert api.call_count == 1
    assert api.calls[0].request.headers["Authorization"] == "Bearer ready-token"


async def test_bad_login_raises_a_login_refusal(mock: respx.MockRouter) -> None:
    mock.post(AUTH_URL).mock(
        return_value=httpx.Response(401, json={"code": 401, "error": "Unauthorized"})
    )
    api = mock.get(API_URL).mock(return_value=httpx.Response(200))
    with pytest.raises(AuthenticationError) as info:
        await client(username="ann", password=PASSWORD)._v4("GET", API_URL)
    assert isinstance(info.value, ia.LoginRefusedError)
    assert info.value.message == "Unauthorized"
    assert info.value.may_have_been_processed is False
    assert "never sent" in str(info.value)
    assert PASSWORD not in str(info.value)
    assert api.call_count == 0


async def test_a_refused_login_is_shared_and_remembered(mock: respx.MockRouter) -> None:
    """Issue 8 item 2: a wrong password and 20 concurrent calls make one login."""
    gate = anyio.Event()

    async def refuse(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(401, json={"code": 401, "error": "Unauthorized"})

    auth = mock.post(AUTH_URL).mock(side_effect=refuse)
    api = mock.get(API_URL).mock(return_value=httpx.Response(200))
    ip = client(username="ann", password=PASSWORD)
    assert isinstance(ip._v4_auth, LoginToken)
    now = [1000.0]  # the provider's clock, moved on by hand instead of waiting
    ip._v4_auth._clock = lambda: now[0]
    errors: list[BaseException | None] = []

    async def one() -> None:
        errors.append(await outcome(ip._v4("GET", API_URL)))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert auth.call_count == 1
    assert len(errors) == 20
    assert all(isinstance(e, ia.LoginRefusedError) for e in errors)
    assert len({id(e) for e in errors}) == 20  # each caller raises its own object
    with pytest.raises(ia.LoginRefusedError):
        await ip._v4("GET", API_URL)  # remembered: no new attempt
    assert auth.call_count == 1
    now[0] += _auth.LOGIN_REFUSAL_MEMORY - 0.1
    with pytest.raises(ia.LoginRefusedError):
        await ip._v4("GET", API_URL)  # still remembered just before it ends
    assert auth.call_count == 1
    now[0] += 0.2
    with pytest.raises(ia.LoginRefusedError):
        await ip._v4("GET", API_URL)  # forgotten after LOGIN_REFUSAL_MEMORY
    assert auth.call_count == 2
    assert api.call_count == 0


async def test_a_failing_login_is_shared_by_its_waiters(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    """Issue 8 item 2: a login answering 500 with 10 calls is retried once, not per call."""
    gate = anyio.Event()

    async def down(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(500, json={"error": "down"})

    auth = mock.post(AUTH_URL).mock(side_effect=down)
    api = mock.get(API_URL).mock(return_value=httpx.Response(200))
    ip = client(username="ann", password=PASSWORD, max_retries=2)
    errors: list[BaseException | None] = []

    async def one() -> None:
        errors.append(await outcome(ip._v4("GET", API_URL)))

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert len(errors) == 10
    assert auth.call_count == 3  # one login, retried twice
    assert api.call_count == 0
    assert all(type(e) is ia.LoginError for e in errors)
    assert {getattr(e, "status_code", None) for e in errors} == {500}
    assert not any(isinstance(e, InternalServerError) for e in errors)


async def test_a_login_answer_nested_too_deeply_is_one_shared_failure(
    mock: respx.MockRouter,
) -> None:
    """Review finding 4: the RecursionError left the login "abandoned", so each waiter
    logged in again."""
    gate = anyio.Event()

    async def too_deep(request: httpx.Request) -> httpx.Response:
        await gate.wait()
        return httpx.Response(200, content=b"[" * 100_000 + b"]" * 100_000)

    auth = mock.post(AUTH_URL).mock(side_effect=too_deep)
    api = mock.get(API_URL).mock(return_value=httpx.Response(200))
    ip = client(username="ann", password=PASSWORD)
    errors: list[BaseException | None] = []

    async def one() -> None:
        errors.append(await outcome(ip._v4("GET", API_URL)))

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
        await anyio.wait_all_tasks_blocked()
        gate.set()
    assert auth.call_count == 1
    assert api.call_count == 0
    assert len(errors) == 5 and all(type(e) is ia.LoginError for e in errors)


async def test_the_login_runs_inside_the_callers_budget(mock: respx.MockRouter) -> None:
    """Issue 8 item 1: ``with_options(timeout=1)`` on a client built with 6."""
    mock.post(AUTH_URL).mock(side_effect=Hang())
    ip = client(username="ann", password=PASSWORD, timeout=6)
    started = anyio.current_time()
    with pytest.raises(APITimeoutError) as info:
        await ip.with_options(timeout=1)._v4("GET", API_URL)
    assert anyio.current_time() - started < 1.8
    assert isinstance(info.value, ia.LoginTimeoutError)
    assert info.value.may_have_been_processed is False
    assert "POST" not in str(info.value) and "6s" not in str(info.value)


async def test_every_waiter_is_bounded_by_its_own_deadline(mock: respx.MockRouter) -> None:
    """Issue 8 item 1: five calls and a login that hangs all end at about 1 s."""
    login = Hang()
    mock.post(AUTH_URL).mock(side_effect=login)
    ip = client(username="ann", password=PASSWORD, timeout=1)
    started = anyio.current_time()
    ended: list[float] = []
    errors: list[BaseException | None] = []

    async def one() -> None:
        errors.append(await outcome(ip._v4("GET", API_URL)))
        ended.append(anyio.current_time() - started)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(one)
    assert len(errors) == 5
    assert all(isinstance(e, ia.LoginTimeoutError) for e in errors)
    assert max(ended) < 1.8
    assert login.calls == 1


async def test_a_waiter_with_time_left_takes_over_an_abandoned_login(
    mock: respx.MockRouter,
) -> None:
    login = Hang(answers_from=2)
    mock.post(AUTH_URL).mock(side_effect=login)
    api = mock.get(API_URL).mock(return_value=httpx.Response(200, json={}))
    ip = client(username="ann", password=PASSWORD)
    results: dict[str, BaseException | None] = {}

    async def call(name: str, budget: float) -> None:
        results[name] = await outcome(ip.with_options(timeout=budget)._v4("GET", API_URL))

    async with anyio.create_task_group() as tg:
        # 1 s: enough to send login #1 even when building the TLS context is slow.
        tg.start_soon(call, "short", 1.0)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(call, "long", 5.0)
    assert isinstance(results["short"], ia.LoginTimeoutError)
    assert results["long"] is None
    assert login.calls == 2
    assert api.calls[0].request.headers["Authorization"] == "Bearer token-number-2"


async def test_a_login_timeout_is_not_may_have_been_processed(mock: respx.MockRouter) -> None:
    """Issue 8 item 6: the POST was never sent, and the error says so."""
    mock.post(AUTH_URL).mock(side_effect=Hang())
    sent = mock.post(SEND).mock(return_value=httpx.Response(202))
    ip = AsyncIntelePeer(username="ann", password=PASSWORD, base_url=BASE, timeout=0.5)
    with pytest.raises(APITimeoutError) as info:
        await send(ip)
    assert sent.call_count == 0
    assert info.value.may_have_been_processed is False
    assert "may have been processed" not in str(info.value)
    assert "never sent" in str(info.value)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html><body>Please log in</body></html>"),
        httpx.Response(200, json={"token": "<html>proxy</html>"}),
        httpx.Response(200, json={"token": "short"}),
        httpx.Response(200, text="OK"),
    ],
)
async def test_only_a_well_formed_token_is_accepted(
    mock: respx.MockRouter, answer: httpx.Response
) -> None:
    """Issue 8 item 3: an HTML page from a proxy is never cached as a token."""
    auth = mock.post(AUTH_URL).mock(return_value=answer)
    api = mock.get(API_URL).mock(return_value=httpx.Response(200))
    ip = client(username="ann", password=PASSWORD)
    for _ in range(2):  # nothing cached: each call tries again
        with pytest.raises(ia.LoginError, match=r"not a well-formed bearer token|no token"):
            await ip._v4("GET", API_URL)
    assert auth.call_count == 2
    assert api.call_count == 0


async def test_smartcommunicator_login_must_answer_a_jwt(mock: respx.MockRouter) -> None:
    mock.post(SC_AUTH_URL).mock(return_value=httpx.Response(200, text="not-a-jwt-at-all"))
    api = mock.get(f"{BASE}/rest/v1/smartcomm/1/agents").mock(return_value=httpx.Response(200))
    ip = client(username="ann", password=PASSWORD)
    with pytest.raises(ia.LoginError, match="not a JWT"):
        await ip._smartcomm("GET", f"{BASE}/rest/v1/smartcomm/1/agents")
    assert api.call_count == 0


async def test_single_flight_under_500_concurrent_calls(mock: respx.MockRouter) -> None:
    gate = anyio.Event()

    async def slow_login(request: httpx.Request) -> httpx.Response:
        await gate.wait()  # held until every caller is waiting for a token
        return httpx.Response(200, json={"token": "shared-token"})

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
    assert {c.request.headers["Authorization"] for c in api.calls} == {"Bearer shared-token"}
    await ip.aclose()


async def test_single_flight_on_concurrent_401s(mock: respx.MockRouter) -> None:
    """500 calls that all get a 401 with an old token cause one new login."""
    auth = mock.post(AUTH_URL).mock(side_effect=tokens("token-old", "token-new", "token-newer"))

    def answer(request: httpx.Request) -> httpx.Response:
        ok = request.headers["Authorization"] != "Bearer token-old"
        return httpx.Response(200 if ok else 401)

    api = mock.get(API_URL).mock(side_effect=answer)
    ip = aged(client(username="ann", password=PASSWORD))
    api.mock(return_value=httpx.Response(200))
    await ip._v4("GET", API_URL)  # logs in with token-old
    api.mock(side_effect=answer)
    async with anyio.create_task_group() as tg:
        for _ in range(500):
            tg.start_soon(ip._v4, "GET", API_URL)
    assert auth.call_count == 2
    assert api.calls[-1].request.headers["Authorization"] == "Bearer token-new"


async def test_refresh_before_expiry() -> None:
    now = [1000.0]
    logins: list[str] = []

    async def login(deadline: float) -> object:
        token = make_jwt({"crt": 0, "exp": 600, "n": len(logins)})
        logins.append(token)
        return {"token": token}

    provider = LoginToken(login, clock=lambda: now[0])
    deadline = anyio.current_time() + 10
    first = await provider.token(deadline)
    now[0] += 539  # lifetime 600 s, margin 60 s: still fresh
    assert await provider.token(deadline) == first
    now[0] += 2  # within the margin: refreshed before it lapses
    second = await provider.token(deadline)
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
    assert extract_token({"token": "token-aaa"}) == "token-aaa"
    assert extract_token({"access_token": "token-bbb"}) == "token-bbb"
    assert extract_token({"data": {"jwt": "token-ccc"}}) == "token-ccc"
    assert extract_token('"token-ddd"') == "token-ddd"
    assert extract_token("eee.fff.ggg\n", jwt=True) == "eee.fff.ggg"
    assert extract_token({"token": "abc/DEF+ghi=="}) == "abc/DEF+ghi=="
    for bad in ({"tokn": "secret-value"}, {"token": "secret value with spaces"}, "x" * 9000):
        with pytest.raises(IntelePeerError) as info:
            extract_token(bad)
        assert "secret" not in str(info.value)
    with pytest.raises(IntelePeerError):
        extract_token("token-without-dots", jwt=True)


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
    ip = aged(AsyncIntelePeer(username="ann", password=PASSWORD, base_url=BASE))
    await ip.with_options(max_retries=1)._v4("GET", API_URL)
    texts = [caplog.text, repr(ip), repr(ip._v4_auth), str(ip._v4_auth)]
    assert caplog.records, "the core logs each attempt at DEBUG"
    for text in texts:
        assert PASSWORD not in text
        assert "tok-SECRET" not in text
    assert repr(StaticToken("tok-SECRET-3")).count("tok-SECRET") == 0
