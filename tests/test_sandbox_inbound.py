"""Inbound SMS from the simulator to webhooks: signing, Basic auth, retries, faults."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest

from intelepeer_async.sandbox import Sandbox, SandboxConfig, serve
from intelepeer_async.sandbox.delivery import is_loopback_host
from receiver import HmacSignature, InboundSms, SharedCode, SmsReceiver

from .serving import uvicorn_in_thread

pytestmark = pytest.mark.anyio

NUMBER = "+13035550102"
SENDER = "+17205551212"


class Sink:
    """An ASGI webhook that records each delivery and answers the next queued status."""

    def __init__(self, *statuses: int, delay: float = 0.0) -> None:
        self.statuses = list(statuses)
        self.delay = delay
        self.seen: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append({"headers": dict(scope["headers"]), "body": json.loads(body)})
        if self.delay:
            await anyio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def started(config: SandboxConfig, sink: Any, url: str = "http://rx.test/sms") -> Sandbox:
    sb = Sandbox(config)
    sb.mount("rx.test", sink)
    sb.world.numbers[NUMBER].webhook = url
    return sb


def frozen(**fields: Any) -> SandboxConfig:
    """A config whose clock moves only when a test advances it."""
    return SandboxConfig(clock_rate=0, **fields)


# -- a served receiver, with a forced failure and the redelivery -------------------------


@pytest.fixture
def served_receiver() -> Iterator[tuple[str, list[str], list[str]]]:
    """`receiver.SmsReceiver` under uvicorn on loopback; its first handler call fails."""
    calls: list[str] = []
    handled: list[str] = []
    rx = SmsReceiver(verifier=SharedCode("demo-shared-code"), basic_auth=("intelepeer", "pw"))

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        calls.append(msg.refid)
        if len(calls) == 1:
            raise RuntimeError("forced failure")
        handled.append(msg.refid)

    with uvicorn_in_thread(rx.app) as url:
        yield f"http://intelepeer:pw@{url.removeprefix('http://')}/", calls, handled


async def test_delivery_to_a_served_receiver_with_failure_and_redelivery(
    served_receiver: tuple[str, list[str], list[str]],
) -> None:
    webhook, calls, handled = served_receiver
    async with serve(SandboxConfig(clock_rate=0)) as server:
        async with server.intelepeer_client() as ip:
            await ip.sms.webhooks.set(NUMBER, webhook)
        sb = server.sandbox
        sent = await sb.send_inbound(SENDER, NUMBER, "hello")
        refid = sent["message"]["refid"]
        first = sent["deliveries"][0]
        assert [a["status"] for a in first["attempts"]] == [500]
        assert first["state"] == "pending"
        assert handled == []
        await sb.advance(1)  # the first back-off
        after = sb.delivery(first["id"])
        assert (after["state"], [a["status"] for a in after["attempts"]]) == (
            "delivered",
            [500, 200],
        )
        again = await sb.resend(first["id"])  # the receiver has handled it: 200, no rerun
        assert [a["status"] for a in again["attempts"]] == [200]
    assert calls == [refid, refid]
    assert handled == [refid]


# -- signing and Basic auth ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "verifier"),
    [
        (SandboxConfig(clock_rate=0), SharedCode("demo-shared-code")),
        (SandboxConfig(clock_rate=0, shared_code="rotated"), SharedCode("old", "rotated")),
        (SandboxConfig(clock_rate=0, signature="hmac"), HmacSignature("demo-hmac-secret")),
        (
            SandboxConfig(
                clock_rate=0,
                signature="hmac",
                hmac_secret="s2",
                hmac_digest="sha1",
                hmac_encoding="base64",
                hmac_template="{refid}:{from}:{message}",
            ),
            HmacSignature(
                "s2", digest="sha1", encoding="base64", template="{refid}:{from}:{message}"
            ),
        ),
    ],
)
async def test_signatures_verify_with_the_receiver(
    config: SandboxConfig, verifier: SharedCode | HmacSignature
) -> None:
    sink = Sink()
    async with await started(config, sink) as sb:
        await sb.send_inbound(SENDER, NUMBER, "sign me")
    body = sink.seen[0]["body"]
    assert set(body) == {"refid", "from", "to", "message", "signature"}
    assert verifier.verify(InboundSms.model_validate(body))
    assert not SharedCode("something else").verify(InboundSms.model_validate(body))


async def test_hmac_settings_are_passed_through_not_defaulted() -> None:
    config = frozen(signature="hmac", hmac_encoding="base64")
    sink = Sink()
    async with await started(config, sink) as sb:
        await sb.send_inbound(SENDER, NUMBER, "x")
    message = InboundSms.model_validate(sink.seen[0]["body"])
    assert HmacSignature("demo-hmac-secret", encoding="base64").verify(message)
    assert not HmacSignature("demo-hmac-secret").verify(message)  # hex would not match


async def test_unsigned_and_basic_auth_from_userinfo() -> None:
    sink = Sink()
    config = frozen(signature="none")
    async with await started(config, sink, "http://ip%40co:p%3Ass@rx.test/sms") as sb:
        await sb.send_inbound(SENDER, NUMBER, "x")
    seen = sink.seen[0]
    assert "signature" not in seen["body"]
    auth = seen["headers"][b"authorization"].decode()
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"ip@co:p:ss"
    assert seen["headers"][b"content-type"] == b"application/json"


async def test_refid_is_fresh_and_32_characters() -> None:
    sink = Sink()
    async with await started(frozen(), sink) as sb:
        for _ in range(3):
            await sb.send_inbound(SENDER, NUMBER, "x")
    refids = [s["body"]["refid"] for s in sink.seen]
    assert len(set(refids)) == 3
    assert all(len(r) == 32 and r.isalnum() for r in refids)


# -- retries --------------------------------------------------------------------------------


async def test_five_attempts_in_all_on_the_virtual_backoff() -> None:
    sink = Sink(500, 500, 500, 500, 500, 500)
    async with await started(frozen(), sink) as sb:
        sent = await sb.send_inbound(SENDER, NUMBER, "x")
        start = sent["message"]["received_at"]
        assert len(sink.seen) == 1
        await sb.advance(0.5)  # not yet due
        assert len(sink.seen) == 1
        await sb.advance(100)  # every remaining attempt falls in this window
        delivery = sb.deliveries()[0]
    assert len(sink.seen) == 5
    assert delivery["state"] == "failed"
    times = [a["at"] - delivery["attempts"][0]["at"] for a in delivery["attempts"]]
    assert [round(t) for t in times] == [0, 1, 3, 7, 15]
    assert start  # the message view has its time
    assert all(a["error"] == "HTTP 500" and a["latency_ms"] >= 0 for a in delivery["attempts"])


async def test_only_http_200_ends_the_attempts() -> None:
    sink = Sink(204, 201, 200)
    config = frozen(delivery_backoff=[10.0], max_delivery_attempts=3)
    async with await started(config, sink) as sb:
        await sb.send_inbound(SENDER, NUMBER, "x")
        await sb.advance(9)
        assert len(sink.seen) == 1
        await sb.advance(11)
        delivery = sb.deliveries()[0]
    assert [a["status"] for a in delivery["attempts"]] == [204, 201, 200]
    assert delivery["state"] == "delivered"


async def test_unreachable_and_remote_targets_are_failed_attempts() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
    config = frozen(max_delivery_attempts=1)
    async with Sandbox(config) as sb:
        sb.world.numbers[NUMBER].webhook = f"http://127.0.0.1:{port}/"
        sb.world.numbers["+13035550103"].webhook = "https://rx.example.com/sms"
        down = await sb.send_inbound(SENDER, NUMBER, "x")
        remote = await sb.send_inbound(SENDER, "+13035550103", "x")
    assert down["deliveries"][0]["attempts"][0]["error"] == "ConnectError"
    refused = remote["deliveries"][0]["attempts"][0]
    assert refused["status"] is None and "only loopback" in refused["error"]
    assert {d["state"] for d in sb.deliveries()} == {"failed"}


def test_loopback_rule() -> None:
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "localhost"))
    remote = ("10.0.0.1", "example.com", "0.0.0.0", "")  # noqa: S104 - not binding anything
    assert not any(is_loopback_host(h) for h in remote)


async def test_a_slow_receiver_times_out() -> None:
    sink = Sink(delay=5)
    config = frozen(delivery_timeout=0.2, max_delivery_attempts=1)
    async with await started(config, sink) as sb:
        sent = await sb.send_inbound(SENDER, NUMBER, "x")
    attempt = sent["deliveries"][0]["attempts"][0]
    assert attempt["error"] == "timed out" and attempt["latency_ms"] < 4000


# -- delivery faults ---------------------------------------------------------------------


async def test_duplicate_delivery_is_handled_once_by_the_receiver() -> None:
    handled: list[str] = []
    rx = SmsReceiver(verifier=SharedCode("demo-shared-code"))

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        handled.append(msg.refid)

    config = frozen(faults=[{"kind": "duplicate", "times": 1}])
    async with await started(config, rx.app, "http://rx.test/") as sb:
        sent = await sb.send_inbound(SENDER, NUMBER, "twice")
        await sb.send_inbound(SENDER, NUMBER, "once")
    reasons = [d["reason"] for d in sent["deliveries"]]
    assert reasons == ["new", "duplicate"]
    assert all(d["state"] == "delivered" for d in sb.deliveries())
    assert len(sb.deliveries()) == 3
    assert len(handled) == 2 and handled[0] == sent["message"]["refid"]


async def test_out_of_order_delivery() -> None:
    sink = Sink()
    config = frozen(faults=[{"kind": "out_of_order", "seconds": 5, "times": 1}])
    async with await started(config, sink) as sb:
        await sb.send_inbound(SENDER, NUMBER, "first")
        await sb.send_inbound(SENDER, NUMBER, "second")
        assert [s["body"]["message"] for s in sink.seen] == ["second"]
        await sb.advance(5)
    assert [s["body"]["message"] for s in sink.seen] == ["second", "first"]


# -- the control API ---------------------------------------------------------------------------


@pytest.fixture
async def control() -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient]]:
    async with Sandbox(SandboxConfig(clock_rate=0)) as sb, sb.client() as http:
        yield sb, http


async def test_inbound_and_deliveries_over_http(
    control: tuple[Sandbox, httpx.AsyncClient],
) -> None:
    sb, http = control
    sink = Sink(500)
    sb.mount("rx.test", sink)
    sb.world.numbers[NUMBER].webhook = "http://rx.test/"
    body = {"from": SENDER, "to": NUMBER, "message": "hi"}
    sent = await http.post("/_sandbox/inbound", json=body)
    assert sent.status_code == 202
    delivery_id = sent.json()["deliveries"][0]["id"]
    clock = await http.post("/_sandbox/clock", json={"advance": 1})
    assert clock.status_code == 200 and clock.json()["rate"] == 0
    listed = (await http.get("/_sandbox/deliveries")).json()
    attempts = listed[0]["attempts"]
    assert [a["status"] for a in attempts] == [500, 200]
    assert set(attempts[0]) == {"attempt", "at", "at_iso", "status", "latency_ms", "error"}
    resent = await http.post(f"/_sandbox/deliveries/{delivery_id}/resend")
    assert resent.status_code == 202 and resent.json()["reason"] == f"resend of {delivery_id}"
    assert (await http.get("/_sandbox/deliveries/99")).status_code == 404
    assert len(sink.seen) == 3


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"from": "nope", "to": NUMBER, "message": "x"}, 400, "from must be"),
        ({"from": SENDER, "to": "+19995550100", "message": "x"}, 404, "not a number"),
        ({"from": SENDER, "to": "+13035550111", "message": "x"}, 409, "SMS enabled"),
        ({"from": SENDER, "to": NUMBER, "message": "x"}, 409, "no webhook"),
        ({"from": SENDER, "to": NUMBER, "message": 5}, 400, "message must be"),
    ],
)
async def test_inbound_refusals(
    control: tuple[Sandbox, httpx.AsyncClient], body: dict[str, Any], status: int, text: str
) -> None:
    _, http = control
    answer = await http.post("/_sandbox/inbound", json=body)
    assert answer.status_code == status
    assert text in answer.json()["error"]


async def test_inbound_needs_a_running_sandbox() -> None:
    sb = Sandbox()
    sb.world.numbers[NUMBER].webhook = "http://127.0.0.1:9/"
    async with sb.client() as http:
        answer = await http.post(
            "/_sandbox/inbound", json={"from": SENDER, "to": NUMBER, "message": "x"}
        )
    assert answer.status_code == 503
    assert "running sandbox" in answer.json()["error"]
