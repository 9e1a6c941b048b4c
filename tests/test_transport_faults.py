"""What every transport must do alike, run on each (httpx under asyncio and trio, aiohttp
under asyncio), over real loopback sockets: what "never sent" and "maybe sent" mean,
refusals before writing, redirects, body decoding, what is logged, and the in-flight
queue in front of the pool. The simulator's own faults run on each transport in
`test_sandbox_e2e.py`."""

from __future__ import annotations

import base64
import gzip
import logging
from typing import Any

import anyio
import pytest

from intelepeer_async import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncIntelePeer,
    AsyncYay,
    CallFlowBuilder,
    IntelePeerError,
    InternalServerError,
    SendResult,
    Timeout,
    TriggerResult,
    UnexpectedRedirectError,
)
from intelepeer_async._http import TransportName
from intelepeer_async.sandbox import SandboxConfig, serve

from .helpers import assert_no_secret
from .loopback import (
    Received,
    connect_hangs,
    cut_after_one_request,
    http_response,
    loopback_server,
)

pytestmark = pytest.mark.anyio

TOKEN = "ready-token-123"
SEND = "/_rest/v4/app/sms/send"
TRIGGER = "/_rest/v4/sfgen/apitriggers"


@pytest.fixture
def anyio_backend(loop_and_transport: tuple[str, str]) -> str:
    return loop_and_transport[0]


def client(base: str, transport: TransportName, **options: object) -> AsyncIntelePeer:
    return AsyncIntelePeer(token=TOKEN, base_url=base, transport=transport, **options)  # type: ignore[arg-type]


def yay(base: str, transport: TransportName) -> AsyncYay:
    return AsyncYay(reseller="r", user="u", password="p", base_url=base, transport=transport)


FLOW = CallFlowBuilder("Support", extension=501).start("busy").busy("busy").build()


async def send(ip: AsyncIntelePeer) -> SendResult:
    return await ip.sms.send(from_="+13035550100", to="+13035550111", text="hello")


async def trigger(ip: AsyncIntelePeer) -> TriggerResult:
    return await ip.smartflows.trigger("demo-flow", ani="+17205551212", dnis="+13035550100")


# -- never sent / maybe sent -------------------------------------------------------


async def test_connect_that_hangs_is_never_sent(transport: TransportName) -> None:
    """Issue 8 item 4: ``timeout=1`` makes connect and budget end at the same moment."""
    with connect_hangs() as base:
        ip = client(base, transport, timeout=1, max_retries=0)
        started = anyio.current_time()
        with pytest.raises(APITimeoutError) as info:
            await send(ip)
        await ip.aclose()
    assert info.value.may_have_been_processed is False
    assert "never reached the server" in str(info.value)
    assert anyio.current_time() - started < 2.0
    assert_no_secret(info.value, TOKEN)


async def test_a_post_that_never_left_is_retried_within_the_budget(
    transport: TransportName, no_sleep: list[float]
) -> None:
    with connect_hangs() as base:
        ip = client(base, transport, timeout=Timeout(total=3, connect=0.4), max_retries=2)
        with pytest.raises(APITimeoutError) as info:
            await send(ip)
        await ip.aclose()
    assert len(no_sleep) == 2  # three attempts, none of which reached the server
    assert info.value.may_have_been_processed is False


async def test_a_refused_connection_is_never_sent_and_retried(
    transport: TransportName, no_sleep: list[float]
) -> None:
    with connect_hangs() as base:
        pass  # the listener is closed now: connecting is refused at once
    ip = client(base, transport, max_retries=2)
    with pytest.raises(APIConnectionError) as info:
        await send(ip)
    await ip.aclose()
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.may_have_been_processed is False
    assert "could not connect" in str(info.value)
    assert len(no_sleep) == 2
    assert_no_secret(info.value, TOKEN)


async def test_a_server_that_hangs_after_reading_may_have_processed_it(
    transport: TransportName,
) -> None:
    async def never_answer(request: Received) -> bytes | None:
        return None

    async with loopback_server(never_answer) as (base, received):
        # 1 s: the first call also builds the TLS context (slow on a loaded machine).
        ip = client(base, transport, timeout=1)
        started = anyio.current_time()
        with pytest.raises(APITimeoutError) as info:
            await send(ip)
        elapsed = anyio.current_time() - started
        await ip.aclose()
    assert len(received) == 1  # a POST is never resent once it may have arrived
    assert info.value.may_have_been_processed is True
    assert "may have been processed" in str(info.value)
    assert elapsed < 2.0


WRITES_RETRIED_LIKE_READS = {
    "callflows.delete (DELETE)": lambda base, t: yay(base, t).callflows.delete("flow-1"),
    "callflows.update (PUT)": lambda base, t: yay(base, t).callflows.update("flow-1", FLOW),
    "webhooks.set (idempotent POST)": lambda base, t: client(base, t).sms.webhooks.set(
        "+13035550100", "https://rx.example.com/sms"
    ),
}


@pytest.mark.parametrize(
    "call", WRITES_RETRIED_LIKE_READS.values(), ids=list(WRITES_RETRIED_LIKE_READS)
)
async def test_an_earlier_attempt_that_may_have_acted_is_reported_whatever_the_last(
    transport: TransportName, no_sleep: list[float], call: Any
) -> None:
    """Review finding 2: the first attempt reached the server and was cut off; the
    retries could not even connect. The call may have been processed all the same."""
    async with cut_after_one_request() as (base, received):
        with pytest.raises(APIConnectionError) as info:
            await call(base, transport)
    assert len(received) == 1
    assert len(no_sleep) == 2  # retried, as an idempotent call is
    assert info.value.may_have_been_processed is True
    assert "an earlier attempt may have been processed" in str(info.value)
    assert "never reached the server" not in str(info.value)


async def test_a_call_handed_a_slot_with_almost_no_budget_left_is_not_sent(
    transport: TransportName,
) -> None:
    """Review finding 13: with one slot and a hanging server, each queued trigger got
    the slot with milliseconds left, was sent anyway, and said "may have been processed".

    One answered trigger first makes the client's pool and connection: building a
    TLS context blocks the event loop for tens of milliseconds (more on a loaded
    machine), and inside the timed part that stall would start the queued calls
    late, leaving them more than the floor when the slot comes free."""

    async def answer_only_the_first(request: Received) -> bytes | None:
        return http_response(202) if len(received) == 1 else None

    # By call, not by time of ending: on a loaded machine the first call's
    # timeout can be handled after a queued call's own deadline has passed.
    outcomes: dict[int, APITimeoutError] = {}
    async with loopback_server(answer_only_the_first) as (base, received):
        ip = client(base, transport, max_in_flight=1, timeout=2)
        await trigger(ip)

        async def one(k: int) -> None:
            await anyio.sleep(0.01 * k)  # a few ms more budget than call 0: under the floor
            with pytest.raises(APITimeoutError) as info:
                await trigger(ip)
            outcomes[k] = info.value

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(one, 0)
                await anyio.wait_all_tasks_blocked()  # call 0 holds the slot, in flight
                for k in range(1, 4):
                    tg.start_soon(one, k)
        await ip.aclose()
    assert len(received) == 2  # the warm-up, then only the first of the four
    assert [outcomes[k].may_have_been_processed for k in range(4)] == [True, False, False, False]
    for error in (outcomes[k] for k in range(1, 4)):
        assert "never reached the server" in str(error)
        assert_no_secret(error, TOKEN)


async def test_an_illegal_header_is_refused_before_writing(transport: TransportName) -> None:
    async def answer(request: Received) -> bytes:
        return http_response(202)

    async with loopback_server(answer) as (base, received):
        ip = client(base, transport)
        from intelepeer_async._retry import Failure
        from intelepeer_async._transport import TransportFailure

        for value in ("Bearer SECRET-TOKEN-123\n", "Bearer SECRET-TOKEN-ü"):
            with pytest.raises(TransportFailure) as info:
                await ip._core.transport.send(
                    "GET",
                    f"{base}/x",
                    {"Authorization": value},
                    None,
                    deadline=anyio.current_time() + 5,
                    connect_timeout=5,
                )
            assert (info.value.failure, info.value.local) == (Failure.NOT_SENT, True)
            assert "Authorization" in info.value.reason
            assert "SECRET" not in info.value.reason
        await ip.aclose()
    assert received == []


# -- answers -------------------------------------------------------------------------


async def test_a_redirect_is_never_followed(transport: TransportName) -> None:
    async def redirect(request: Received) -> bytes:
        if request.target.startswith("/elsewhere"):
            return http_response(200, b'{"tnkey": "+12161112222"}')
        headers = {"Location": "/elsewhere?user=x", "Content-Type": "application/json"}
        return http_response(307, b"{}", headers)

    async with loopback_server(redirect) as (base, received):
        ip = client(base, transport)
        with pytest.raises(UnexpectedRedirectError) as info:
            await ip.sms.webhooks.get("+12161112222")
        await ip.aclose()
    assert len(received) == 1
    assert info.value.status_code == 307
    assert "user=x" not in str(info.value)
    assert_no_secret(info.value, TOKEN, "user=x")


async def test_gzip_bodies_are_decoded_and_a_broken_one_is_a_typed_error(
    transport: TransportName,
) -> None:
    packed = {"Content-Encoding": "gzip", "Content-Type": "application/json"}

    async def answer(request: Received) -> bytes:
        if request.target.startswith("/_rest/v4/my/did/sms/webhook"):
            return http_response(200, gzip.compress(b'{"tnkey": "+12161112222"}'), packed)
        status = 500 if request.target == "/fails" else 200
        return http_response(status, b"this is not gzip", packed)

    async with loopback_server(answer) as (base, _):
        ip = client(base, transport, max_retries=0)
        config = await ip.sms.webhooks.get("+12161112222")
        assert config.number == "+12161112222"
        with pytest.raises(IntelePeerError) as info:
            await ip.sms.status("R1")
        with pytest.raises(InternalServerError):
            await ip._v4("GET", f"{base}/fails")
        await ip.aclose()
    assert isinstance(info.value, APIResponseValidationError)
    assert (info.value.status_code, info.value.succeeded) == (200, True)
    assert "gzip" in str(info.value)


async def test_a_billed_call_answered_2xx_with_an_undecodable_body_returns(
    transport: TransportName,
) -> None:
    """Review finding 5: the send took effect (202), so it returns, with raw None,
    instead of an error a user would answer by sending again."""

    async def answer(request: Received) -> bytes:
        return http_response(202, b"this is not gzip", {"Content-Encoding": "gzip"})

    async with loopback_server(answer) as (base, received):
        ip = client(base, transport, smartcomm_token="a.b.c", customer_id=1)
        sent = await send(ip)
        triggered = await trigger(ip)
        onboarded = await ip.agents.onboard(
            user_object_id="u1", tenant_id="t1", phone_number="+13035550101"
        )
        await ip.aclose()
    assert len(received) == 3
    assert (sent.status_code, sent.raw, sent.refid) == (202, None, None)
    assert (triggered.accepted, triggered.status_code, triggered.raw) == (True, 202, None)
    assert (onboarded.message, onboarded.raw) == (None, None)


async def test_userinfo_is_sent_as_basic_and_never_logged_above_debug(
    transport: TransportName, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def answer(request: Received) -> bytes:
        return http_response(200, b'{"tnkey": "+12161112222"}')

    async with loopback_server(answer) as (base, received):
        ip = client(base.replace("http://", "http://user:URLPASS@"), transport)
        await ip.sms.webhooks.get("+12161112222")
        await ip.aclose()
    assert received[0].headers["authorization"] == "Basic " + base64.b64encode(
        b"user:URLPASS"
    ).decode("ascii")
    assert received[0].target == "/_rest/v4/my/did/sms/webhook?endpoint=%2B12161112222"
    shown = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in shown if "12161112222" in m or "URLPASS" in m or "endpoint" in m]


# -- the in-flight queue -----------------------------------------------------------


async def test_any_number_of_calls_runs_at_the_bounded_rate(transport: TransportName) -> None:
    """Issue 10: 60 calls at once with max_in_flight=4: never more than 4 on the wire."""
    now_open = 0
    most_open = 0

    async def slow(request: Received) -> bytes:
        nonlocal now_open, most_open
        now_open += 1
        most_open = max(most_open, now_open)
        await anyio.sleep(0.01)
        now_open -= 1
        return http_response(202, b"true")

    async with loopback_server(slow) as (base, received):
        ip = client(base, transport, max_in_flight=4)
        results: list[object] = []

        async def one() -> None:
            results.append(await trigger(ip))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for _ in range(60):
                    tg.start_soon(one)
        assert ip.max_in_flight == 4
        assert (ip._core.limit.in_flight, ip._core.limit.waiting) == (0, 0)
        await ip.aclose()
    assert len(results) == len(received) == 60
    assert most_open == 4


async def test_a_call_that_times_out_in_the_queue_was_never_sent(transport: TransportName) -> None:
    holding = anyio.Event()

    async def hold_first(request: Received) -> bytes | None:
        if request.target == "/hold":
            holding.set()
            return None
        return http_response(202, b"true")

    async with loopback_server(hold_first) as (base, received):
        ip = client(base, transport, max_in_flight=1, timeout=0.5)

        async def hold() -> None:
            with pytest.raises(APITimeoutError):
                await ip.with_options(timeout=30)._v4("GET", f"{base}/hold")

        async with anyio.create_task_group() as tg:
            tg.start_soon(hold)
            with anyio.fail_after(5):
                await holding.wait()
            started = anyio.current_time()
            with pytest.raises(APITimeoutError) as info:
                await trigger(ip)  # a copy made by with_options shares the one queue
            elapsed = anyio.current_time() - started
            tg.cancel_scope.cancel()
        await ip.aclose()
    assert [r.target for r in received] == ["/hold"]  # the trigger never arrived
    assert info.value.may_have_been_processed is False
    assert "never reached the server" in str(info.value)
    assert "max_in_flight" in str(info.value)
    assert 0.4 < elapsed < 1.5
    assert_no_secret(info.value, TOKEN)


async def test_a_full_queue_never_starves_the_login(transport: TransportName) -> None:
    """Calls waiting for a token hold no slot, so the login always gets one."""
    async with serve(SandboxConfig(clock_rate=0)) as server:
        ip = server.intelepeer_client(transport=transport, max_in_flight=2)
        sent: list[object] = []

        async def one() -> None:
            sent.append(await trigger(ip))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                for _ in range(30):
                    tg.start_soon(one)
        await ip.aclose()
        logins = server.sandbox.requests(path="/_rest/v4/authenticate")
        triggers = server.sandbox.requests(path=TRIGGER)
    assert len(sent) == 30
    assert [r["status"] for r in logins] == [200]
    assert len(triggers) == 30 and {r["status"] for r in triggers} == {202}
