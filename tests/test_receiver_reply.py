"""Replying from a handler sends one reply, even when IntelePeer delivers again.

Issue 9, item 10. The README's reply pattern: the reply's whole budget fits
inside `handler_timeout`, and a reply that may have gone out counts as done.
A handler that succeeded is never run again for the same refid, so the forced
redelivery (another handler failed the first time) sends nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
import respx

from intelepeer_async import APIConnectionError, AsyncIntelePeer, InvalidInputError
from receiver import OPT_OUT_KEYWORDS, InboundSms, SharedCode, SmsReceiver

from .helpers import fixture_json
from .receiver_asgi import call_asgi

pytestmark = pytest.mark.anyio

SEND = "https://ip.test/_rest/v4/app/sms/send"
STOP = json.dumps({**fixture_json("inbound_sms.json"), "message": "Stop."}).encode()
log = logging.getLogger("tests.reply")


@pytest.fixture
async def ip() -> AsyncIterator[AsyncIntelePeer]:
    async with AsyncIntelePeer(token="tok", base_url="https://ip.test", max_retries=0) as client:
        yield client


def slow_vendor(mock: respx.MockRouter) -> list[str]:
    """The vendor takes the first send but answers it only after 5 s; later ones at once.

    Returns the texts it received (one per reply sent, answered or not)."""
    received: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content)["text"])
        if len(received) == 1:
            await anyio.sleep(5)
        return httpx.Response(202, json={"refid": "OUT1"})

    mock.post(SEND).mock(side_effect=answer)
    return received


def receiver(ip: AsyncIntelePeer, *, budgeted: bool) -> SmsReceiver:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), handler_timeout=1.0)
    # The README's pattern: the reply's whole budget ends well inside the handler's.
    replies = ip.with_options(timeout=rx.handler_timeout / 2) if budgeted else ip
    flaky = [RuntimeError("the CRM is down")]

    @rx.on_message(keyword=OPT_OUT_KEYWORDS)
    async def confirm_opt_out(msg: InboundSms) -> None:
        try:
            await replies.sms.send(
                from_=msg.to, to=msg.from_, text="You are unsubscribed.", guid=msg.refid
            )
        except InvalidInputError:
            log.warning("%s: the sender cannot be replied to", msg.refid)
        except APIConnectionError as exc:
            if not exc.may_have_been_processed:
                raise  # nothing went out: fail, and the redelivery replies
            log.warning("%s: the reply may have gone out; not sending it again", msg.refid)

    @rx.on_message(keyword=OPT_OUT_KEYWORDS)
    async def record_opt_out(msg: InboundSms) -> None:
        if flaky:
            raise flaky.pop()  # fails once: IntelePeer has to deliver again

    return rx


async def test_one_delivery_and_a_forced_redelivery_send_one_reply(
    ip: AsyncIntelePeer, mock: respx.MockRouter
) -> None:
    sent = slow_vendor(mock)
    rx = receiver(ip, budgeted=True)
    started = anyio.current_time()
    first = await call_asgi(rx.app, STOP)
    assert anyio.current_time() - started < 3  # the reply gave up at its budget
    again = await call_asgi(rx.app, STOP)
    assert (first.status, again.status) == (500, 200)  # record_opt_out failed once
    assert sent == ["You are unsubscribed."]  # one reply


async def test_a_reply_that_inherits_the_clients_budget_is_sent_twice(
    ip: AsyncIntelePeer, mock: respx.MockRouter
) -> None:
    """Why the budget matters: cancelled by handler_timeout after it went out, it is resent."""
    sent = slow_vendor(mock)
    rx = receiver(ip, budgeted=False)
    first = await call_asgi(rx.app, STOP)
    again = await call_asgi(rx.app, STOP)
    assert (first.status, again.status) == (500, 200)
    assert len(sent) == 2


async def test_a_reply_that_surely_failed_is_sent_by_the_redelivery(
    ip: AsyncIntelePeer, mock: respx.MockRouter
) -> None:
    route = mock.post(SEND).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(202, json={"refid": "OUT1"})]
    )
    rx = receiver(ip, budgeted=True)
    assert (await call_asgi(rx.app, STOP)).status == 500
    assert (await call_asgi(rx.app, STOP)).status == 200
    assert route.call_count == 2  # the first never reached the vendor
