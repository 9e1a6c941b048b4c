"""What the SDK puts on the wire, alike on each transport (httpx under asyncio and trio,
aiohttp under asyncio), over real loopback sockets: the caller's extra headers replace
the SDK's whatever their case, framing headers are refused, a closed client is a typed
error, and proxies come from the environment."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import anyio
import pytest

from intelepeer_async import (
    APIConnectionError,
    AsyncIntelePeer,
    AsyncYay,
    ClientClosedError,
    IntelePeerError,
    InvalidInputError,
)
from intelepeer_async._http import TransportName

from .helpers import assert_no_secret
from .loopback import Received, http_response, loopback_server

pytestmark = pytest.mark.anyio

TOKEN = "ready-token-123"


@pytest.fixture
def anyio_backend(loop_and_transport: tuple[str, str]) -> str:
    return loop_and_transport[0]


async def ok(request: Received) -> bytes:
    return http_response(200, b'{"result": [], "code": 200, "RCC_en": "Queued"}')


# -- extra headers -------------------------------------------------------------------


async def test_extra_headers_replace_the_sdks_whatever_their_case(
    transport: TransportName,
) -> None:
    """Review finding 6: httpx sent both ``X-Auth-User: u`` and ``x-auth-user:
    someone-else`` (two accounts in one request), aiohttp only the caller's."""
    async with loopback_server(ok) as (base, received):
        async with AsyncYay(
            reseller="r",
            user="u",
            password="p",
            act_for="sub-1",
            base_url=base,
            transport=transport,
        ) as yay:
            await yay.callflows.list(
                extra_headers={
                    "user-agent": "my-app/1.0",
                    "x-auth-user": "someone-else",
                    "x-auth-for": "sub-2",
                    "accept": "text/html",
                }
            )
        async with AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport) as ip:
            await ip.sms.status("R1", extra_headers={"authorization": "Bearer other-token-1"})
            await ip.smartflows.trigger(
                "flow",
                ani="+13035550100",
                dnis="+13035550111",
                flow_token="flow-token-1",
                extra_headers={"authorization": "Bearer other-token-1"},
            )
    yay_request, status_request, trigger_request = received
    for name, value in (
        ("User-Agent", "my-app/1.0"),
        ("X-Auth-User", "someone-else"),
        ("X-Auth-For", "sub-2"),
        ("Accept", "text/html"),
    ):
        assert yay_request.values(name) == [value]
    assert yay_request.values("X-Auth-Reseller") == ["r"]  # the rest of the SDK's stay
    assert status_request.values("Authorization") == ["Bearer other-token-1"]
    assert trigger_request.values("Authorization") == ["Bearer flow-token-1"]


async def test_one_header_given_twice_in_other_cases_is_refused(
    transport: TransportName,
) -> None:
    async with (
        loopback_server(ok) as (base, received),
        AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport) as ip,
    ):
        with pytest.raises(InvalidInputError, match=r"(?i)x-trace twice"):
            await ip.sms.status("R1", extra_headers={"X-Trace": "a", "x-trace": "b"})
    assert received == []


@pytest.mark.parametrize(
    "name",
    [
        "Content-Length",
        "transfer-encoding",
        "Host",
        "Connection",
        "Keep-Alive",
        "TE",
        "Trailer",
        "Upgrade",
        "Expect",
        "Accept-Encoding",
        "Content-Encoding",
    ],
)
async def test_framing_headers_are_refused_before_sending(
    transport: TransportName, name: str
) -> None:
    """Review finding 7: ``Content-Length: 0`` on a send made httpx raise a raw h11
    error after the server had the POST and answered 202; aiohttp sent both lengths."""
    async with (
        loopback_server(ok) as (base, received),
        AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport) as ip,
    ):
        with pytest.raises(InvalidInputError) as info:
            await ip.sms.send(
                from_="+13035550100",
                to="+13035550111",
                text="hello",
                extra_headers={name: "0"},
            )
    assert name in str(info.value)
    assert received == []


# -- a closed client -------------------------------------------------------------------


async def test_a_call_on_a_closed_client_is_a_typed_error(transport: TransportName) -> None:
    """Review finding 9: a raw RuntimeError, on both transports."""
    async with loopback_server(ok) as (base, received):
        ip = AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport)
        await ip.sms.status("R1")  # the transport is in use before it is closed
        await ip.aclose()
        with pytest.raises(ClientClosedError) as info:
            await ip.sms.status("R2")
        with pytest.raises(ClientClosedError):
            await ip.with_options(timeout=5).sms.status("R3")
    assert isinstance(info.value, IntelePeerError)
    assert info.value.may_have_been_processed is False
    assert [r.target for r in received] == ["/_rest/v4/app/sms/mdr?refid=R1"]


async def test_calls_queued_when_the_client_closes_get_a_typed_error(
    transport: TransportName,
) -> None:
    holding = anyio.Event()

    async def hold_first(request: Received) -> bytes | None:
        if request.target == "/hold":
            holding.set()
            return None
        return await ok(request)

    async with loopback_server(hold_first) as (base, received):
        ip = AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport, max_in_flight=1)
        errors: list[BaseException] = []

        async def call(path: str) -> None:
            try:
                await ip._v4("GET", f"{base}{path}")
            except Exception as exc:  # the test looks at what it was
                errors.append(exc)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "/hold")
                await holding.wait()
                for _ in range(3):
                    tg.start_soon(call, "/queued")
                await anyio.wait_all_tasks_blocked()
                assert ip._core.limit.waiting == 3
                await ip.aclose()
    assert [r.target for r in received] == ["/hold"]
    assert len(errors) == 4
    assert all(isinstance(e, IntelePeerError) for e in errors), errors  # the one in flight too
    queued = [e for e in errors if isinstance(e, ClientClosedError)]
    assert len(queued) == 3
    assert not any(e.may_have_been_processed for e in queued)
    # The call the close cut mid-flight was sent: it is not retried, and says so.
    (cut,) = [e for e in errors if not isinstance(e, ClientClosedError)]
    assert isinstance(cut, APIConnectionError)
    assert cut.may_have_been_processed is True
    for error in errors:
        assert_no_secret(error, TOKEN)


async def test_a_callers_authorization_serves_smartcommunicator_without_its_credentials(
    transport: TransportName,
) -> None:
    """Review finding 12: v4 calls took a caller's Authorization on a client without
    the credentials; SmartCommunicator calls refused it."""

    async def empty_list(request: Received) -> bytes:
        return http_response(200, b"[]")

    async with (
        loopback_server(empty_list) as (base, received),
        AsyncIntelePeer(token=TOKEN, customer_id=1, base_url=base, transport=transport) as ip,
    ):
        assert await ip.agents.list(extra_headers={"authorization": "Bearer a.b.c"}) == []
        with pytest.raises(InvalidInputError, match="SmartCommunicator"):
            await ip.agents.list()  # neither the client's credentials nor the caller's
    (request,) = received
    assert request.values("Authorization") == ["Bearer a.b.c"]


# -- proxies from the environment ------------------------------------------------------

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def _proxy_environment(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


async def test_proxies_come_from_the_environment_on_each_transport(
    transport: TransportName, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review finding 14: httpx honoured HTTP_PROXY, aiohttp ignored it."""
    async with loopback_server(ok) as (proxy, received):
        _proxy_environment(
            monkeypatch, HTTP_PROXY=proxy.replace("http://", "http://proxyuser:proxy-pw@")
        )
        async with AsyncIntelePeer(
            token=TOKEN, base_url="http://api.example.invalid", transport=transport, timeout=5
        ) as ip:
            await ip.sms.status("R1")
    (request,) = received
    # A proxy is asked for the whole URL, with the proxy's own credentials.
    assert request.target == "http://api.example.invalid/_rest/v4/app/sms/mdr?refid=R1"
    assert request.values("Proxy-Authorization") == ["Basic cHJveHl1c2VyOnByb3h5LXB3"]
    assert request.values("Authorization") == [f"Bearer {TOKEN}"]


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "localhost,127.0.0.1"])
async def test_no_proxy_hosts_are_reached_directly(
    transport: TransportName, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    with socket.socket() as unused:  # a proxy address nothing listens on
        unused.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{unused.getsockname()[1]}"
    async with loopback_server(ok) as (base, received):
        _proxy_environment(monkeypatch, HTTP_PROXY=dead_proxy, NO_PROXY=no_proxy)
        async with AsyncIntelePeer(
            token=TOKEN, base_url=base, transport=transport, timeout=5
        ) as ip:
            await ip.sms.status("R1")
    assert [r.target for r in received] == ["/_rest/v4/app/sms/mdr?refid=R1"]


async def test_a_proxy_not_excluded_is_used_for_a_loopback_host_too(
    transport: TransportName, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: without NO_PROXY the dead proxy is tried."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{unused.getsockname()[1]}"
    async with loopback_server(ok) as (base, received):
        _proxy_environment(monkeypatch, HTTP_PROXY=dead_proxy, NO_PROXY="example.com")
        async with AsyncIntelePeer(
            token=TOKEN, base_url=base, transport=transport, timeout=5, max_retries=0
        ) as ip:
            with pytest.raises(APIConnectionError):
                await ip.sms.status("R1")
    assert received == []


# -- text that is not Unicode ----------------------------------------------------------

NOT_UTF8 = "Secr3t\udce9"  # what os.environ gives for the byte 0xE9 that is not UTF-8


async def test_text_that_is_not_unicode_is_refused_before_sending(
    transport: TransportName,
) -> None:
    """Review finding 1: a lone surrogate escaped as a raw UnicodeEncodeError whose
    args held the whole body (text, numbers, the webhook URL)."""
    calls: dict[str, Callable[[AsyncIntelePeer], Awaitable[object]]] = {
        "text": lambda ip: ip.sms.send(from_="+13035550100", to="+13035550111", text=NOT_UTF8),
        "variable 'Name'": lambda ip: ip.smartflows.trigger(
            "flow", ani="+13035550100", dnis="+13035550111", variables={"Name": NOT_UTF8}
        ),
        "url": lambda ip: ip.sms.webhooks.set("+13035550100", f"https://rx.test/{NOT_UTF8}"),
        "refid": lambda ip: ip.sms.status(NOT_UTF8),
    }
    async with (
        loopback_server(ok) as (base, received),
        AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport) as ip,
    ):
        for field, call in calls.items():
            with pytest.raises(InvalidInputError, match="not valid Unicode") as info:
                await call(ip)
            assert field.split(" ")[0] in str(info.value)
            assert_no_secret(info.value, "Secr3t")
            assert "13035550" not in str(info.value)
    assert received == []
