"""The httpx transport over real loopback sockets and respx: a user's own pool, redirects,
and what httpx's own logger may say about the SDK's requests. What every transport must
do alike is in `test_transport_faults.py`, run on each."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import APITimeoutError, AsyncIntelePeer, AsyncYay

from .conftest import BASE
from .helpers import assert_no_secret
from .loopback import Received, http_response, loopback_server

pytestmark = pytest.mark.anyio

TOKEN = "ready-token-123"
SEND = "/_rest/v4/app/sms/send"


async def send(ip: AsyncIntelePeer, **options: object) -> object:
    return await ip.sms.send(
        from_="+13035550100",
        to="+13035550111",
        text="hello",
        **options,  # type: ignore[arg-type]
    )


async def test_post_starved_of_a_pooled_connection_was_never_sent() -> None:
    """Issue 8 item 4: the pool timeout and the budget end together; the pool's wins.
    (A user's own client whose pool is smaller than the client's max_in_flight.)"""

    holding = anyio.Event()

    async def hold_first(request: Received) -> bytes | None:
        if request.target == "/hold":
            holding.set()
            return None
        return http_response(202)

    async with loopback_server(hold_first) as (base, received):
        pool = httpx.AsyncClient(limits=httpx.Limits(max_connections=1))
        ip = AsyncIntelePeer(token=TOKEN, base_url=base, http_client=pool, timeout=1)

        async def hold() -> None:
            with pytest.raises(APITimeoutError):
                await ip.with_options(timeout=30)._v4("GET", f"{base}/hold")

        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            with anyio.fail_after(5):
                await holding.wait()
            started = anyio.current_time()
            with pytest.raises(APITimeoutError) as info:
                await send(ip)
            elapsed = anyio.current_time() - started
            tg.cancel_scope.cancel()
        await pool.aclose()
    assert [r.target for r in received] == ["/hold"]  # the POST never arrived
    assert info.value.may_have_been_processed is False
    assert_no_secret(info.value, TOKEN)
    assert "never reached the server" in str(info.value)
    assert elapsed < 2.0


async def test_the_transport_refuses_an_illegal_header_before_writing(
    mock: respx.MockRouter,
) -> None:
    from intelepeer_async._retry import Failure
    from intelepeer_async._transport import HttpxTransport, TransportFailure

    route = mock.get(f"{BASE}/x").respond(200)
    transport = HttpxTransport()
    for value in ("Bearer SECRET-TOKEN-123\n", "Bearer SECRET-TOKEN-ü"):
        with pytest.raises(TransportFailure) as info:
            await transport.send(
                "GET",
                f"{BASE}/x",
                {"Authorization": value},
                None,
                deadline=anyio.current_time() + 5,
                connect_timeout=5,
            )
        assert info.value.failure is Failure.NOT_SENT
        assert "Authorization" in info.value.reason
        assert "SECRET" not in info.value.reason
    assert route.call_count == 0
    await transport.aclose()


async def test_a_redirect_is_never_followed_with_credentials(mock: respx.MockRouter) -> None:
    """Issue 8 item 12: even with a user's client that follows redirects."""
    mock.get(f"{BASE}/voip/flow").respond(
        307, headers={"Location": "https://elsewhere.test/steal?user=x"}
    )
    elsewhere = mock.route(host="elsewhere.test").respond(200, json={"result": []})
    user_client = httpx.AsyncClient(follow_redirects=True)
    yay = AsyncYay(
        reseller="r1", user="u1", password="yay-SECRET", base_url=BASE, http_client=user_client
    )
    with pytest.raises(ia.IntelePeerError) as info:
        await yay.callflows.list()
    assert elsewhere.call_count == 0
    assert isinstance(info.value, ia.UnexpectedRedirectError)
    assert info.value.status_code == 307
    assert "elsewhere.test" in str(info.value)
    assert "user=x" not in str(info.value)
    assert_no_secret(info.value, "yay-SECRET", "user=x")
    assert not user_client.is_closed
    await user_client.aclose()


async def test_httpx_info_line_never_shows_numbers_queries_or_userinfo(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8 item 10, at INFO: nothing about the SDK's requests from any logger."""
    caplog.set_level(logging.INFO)
    mock.get(url__startswith="http://ip.test/_rest/v4/my/did/sms/webhook").respond(
        200, json={"tnkey": "+12161112222", "webhook": "https://rx.test/sms"}
    )
    ip = AsyncIntelePeer(token=TOKEN, base_url="http://user:URLPASS@ip.test")
    await ip.sms.webhooks.get("+12161112222")
    await ip.aclose()
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in shown if "12161112222" in m or "URLPASS" in m or "endpoint" in m]
    assert not [r for r in caplog.records if r.name == "httpx" and r.levelno >= logging.INFO]


async def test_httpx_logs_no_line_for_the_sdks_requests(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    """With the SDK's own client and with a user's, requests go straight to the pool
    the client would pick: httpx logs none of them, at any level."""
    caplog.set_level(logging.DEBUG)
    mock.get(url__startswith="http://ip.test/_rest/v4/my/did/sms/webhook").respond(
        200, json={"tnkey": "+12161112222"}
    )
    own = httpx.AsyncClient()
    for http_client in (own, None):
        ip = AsyncIntelePeer(
            token=TOKEN, base_url="http://user:URLPASS@ip.test", http_client=http_client
        )
        await ip.sms.webhooks.get("+12161112222")
        await ip.aclose()
    await own.aclose()
    assert mock.calls.call_count == 2
    assert [r for r in caplog.records if r.name == "httpx"] == []


@pytest.mark.parametrize("public_path", [False, True], ids=["pool", "AsyncClient.send"])
async def test_a_users_client_auth_and_event_hooks_are_not_applied(
    public_path: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Review finding 8: the client's ``auth=`` replaced the SDK's Bearer, and a
    ``raise_for_status`` hook escaped as a raw HTTPStatusError quoting the URL."""

    caplog.set_level(logging.DEBUG)

    async def not_found(request: Received) -> bytes:
        return http_response(404, b'{"error": "no such refid"}')

    async def raise_for_status(response: httpx.Response) -> None:
        response.raise_for_status()

    async with (
        loopback_server(not_found) as (base, received),
        httpx.AsyncClient(
            auth=("proxyuser", "proxypass"), event_hooks={"response": [raise_for_status]}
        ) as user_client,
    ):
        ip = AsyncIntelePeer(token=TOKEN, base_url=base, http_client=user_client, max_retries=0)
        if public_path:  # as if httpx dropped the private pool chooser
            ip._core.transport._user_pool = (user_client, None)  # type: ignore[attr-defined]
        with pytest.raises(ia.IntelePeerError) as info:
            await ip.sms.status("R-13035550111")
        await ip.aclose()
    (request,) = received
    assert request.values("Authorization") == [f"Bearer {TOKEN}"]
    if public_path:  # the hook runs there: its failure is typed, its text left out
        assert isinstance(info.value, ia.APIConnectionError)
        assert info.value.may_have_been_processed is True
        assert "HTTPStatusError" in str(info.value)
    else:
        assert isinstance(info.value, ia.NotFoundError)
    assert "13035550111" not in str(info.value)
    assert_no_secret(info.value, "proxypass")
    lines = [r for r in caplog.records if r.name == "httpx"]
    assert len(lines) == (1 if public_path else 0)
    for line in lines:  # the filter: DEBUG, the query hidden
        assert line.levelno == logging.DEBUG
        assert "13035550111" not in line.getMessage()


async def test_users_other_httpx_traffic_is_left_alone(
    mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    mock.get(url__startswith="https://other.test/").respond(200)
    async with httpx.AsyncClient() as own:
        await own.get("https://other.test/search?q=mine")
    lines = [r for r in caplog.records if r.name == "httpx"]
    assert len(lines) == 1
    assert lines[0].levelno == logging.INFO
    assert "q=mine" in lines[0].getMessage()


async def test_an_unexpected_error_inside_the_http_stack_is_typed_and_maybe_sent() -> None:
    """Review finding 7: h11 raised a raw LocalProtocolError (after the server had the
    request) that escaped; any such error is a maybe-sent APIConnectionError, its
    text (which can quote the URL or a header) left out."""

    class Broken(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.calls = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.calls += 1
            raise ValueError(f"Too much data for declared Content-Length: {request.url}")

    broken = Broken()
    async with httpx.AsyncClient(transport=broken) as user_client:
        ip = AsyncIntelePeer(token=TOKEN, base_url="http://ip.test", http_client=user_client)
        with pytest.raises(ia.APIConnectionError) as info:
            await send(ip)
        await ip.aclose()
    assert broken.calls == 1  # a send that may have gone out is never resent
    assert info.value.may_have_been_processed is True
    assert "ValueError" in str(info.value)
    assert "Content-Length" not in str(info.value) and "ip.test/_rest" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None


async def test_the_sdks_own_connections_are_pools_of_four_made_as_concurrency_needs() -> None:
    """Issue 10: httpcore scans every connection of a pool per request added or answer
    closed, so the SDK's own connections are split into small pools. Ten calls at once
    with max_in_flight=10 are all with the server at the same time, over pools of 4, 4
    and 2; ten more reuse those ten connections; calls one at a time make one pool."""
    from intelepeer_async._transport import HttpxTransport

    everyone_here = anyio.Event()

    async def hold_until_ten(request: Received) -> bytes:
        if len(received) >= 13:  # after the first three, one at a time
            everyone_here.set()
        if len(received) > 3:
            await everyone_here.wait()
        return http_response(202, b"{}")

    def pools(transport: HttpxTransport) -> list[tuple[int, int]]:
        """(size, connections open) of each pool made so far."""
        return [
            (pool._max_connections, len(pool.connections))
            for pool in (client._transport._pool for client in transport.clients)  # type: ignore[attr-defined]
        ]

    async with loopback_server(hold_until_ten) as (base, received):
        ip = AsyncIntelePeer(token=TOKEN, base_url=base, max_in_flight=10, timeout=10)
        transport = ip._core.transport
        assert isinstance(transport, HttpxTransport)

        async def trigger() -> None:
            await ip.smartflows.trigger("flow", ani="+13035550100", dnis="+13035550111")

        for _ in range(3):  # one at a time: one pool, one connection
            await trigger()
        assert pools(transport) == [(4, 1)]
        for _burst in range(2):
            with anyio.fail_after(10):
                async with anyio.create_task_group() as tg:
                    for _ in range(10):
                        tg.start_soon(trigger)
            assert pools(transport) == [(4, 4), (4, 4), (2, 2)]
        clients = transport.clients
        await ip.aclose()
    assert len(received) == 23
    assert transport.is_closed
    assert [client.is_closed for client in clients] == [True, True, True]


async def test_tls_settings_that_cannot_be_loaded_are_a_typed_error_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    """Review: SSL_CERT_FILE naming a missing file made every call raise a raw
    FileNotFoundError (the aiohttp transport gave a typed error)."""

    async def accepted(request: Received) -> bytes:
        return http_response(202, b"{}")

    monkeypatch.setenv("SSL_CERT_FILE", f"{tmp_path}/no-such-ca.pem")
    async with loopback_server(accepted) as (base, received):
        ip = AsyncIntelePeer(token=TOKEN, base_url=base)
        with pytest.raises(ia.APIConnectionError) as info:
            await ip.smartflows.trigger("flow", ani="+13035550100", dnis="+13035550111")
        await ip.aclose()
    assert received == []
    assert info.value.may_have_been_processed is False
    assert "SSL_CERT_FILE" in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
