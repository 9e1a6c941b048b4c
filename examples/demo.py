"""`make demo`: the SDK's main job end to end, on loopback, with nothing but this clone.

    make demo                               # = python examples/demo.py
    python examples/demo.py --pace 2        # pause 2 s between steps, to follow along
    python examples/demo.py --backend trio  # the same under trio

It starts the simulator (`intelepeer_async.sandbox`, served in this event loop)
and an inbound-SMS receiver (`receiver.SmsReceiver` under uvicorn, in a
background thread, as it would run in a server of its own), each on a free
loopback port. Then, through the public SDK as an application would, it logs
in, provisions a number, points the number's webhook at the receiver, triggers a
SmartFlow, sends an SMS and follows it to delivered, onboards an agent, creates
an IVR call flow, rides out injected faults, and has the simulator deliver
inbound SMS (a STOP, one redelivered after a handler failure, a duplicate), each
handled exactly once. The simulator is steered through its control API
(``/_sandbox/...``) with plain HTTP, as a test in any language could.

The simulator's clock stands still: time moves only when the demo advances it,
so "two minutes later" takes no time. Every claim printed is checked; a check
that fails ends the demo with exit code 1. Ctrl-C stops everything (exit 130),
and nothing is left running either way.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import uvicorn

from intelepeer_async import (
    AgentStatus,
    APIConnectionError,
    AsyncIntelePeer,
    AsyncYay,
    CallFlowBuilder,
    MessageState,
    ProvisioningState,
    SendResult,
)
from intelepeer_async.sandbox import SandboxConfig, serve
from receiver import OPT_OUT_KEYWORDS, InboundSms, SharedCode, SmsReceiver

NUMBER = "+13035550110"  # on the demo account, SMS not enabled yet: provisioned below
CUSTOMER = "+17205551212"  # a customer's mobile phone
AGENT_PHONE = "+13035550101"  # SMS-enabled, so 10DLC-registered on the demo account
SEND = "/_rest/v4/app/sms/send"
MDR = "/_rest/v4/app/sms/mdr"
WEBHOOK_AUTH = ("intelepeer", "demo-webhook-pass")  # Basic auth in the webhook URL
STEPS = 10
PENDING = {MessageState.QUEUED, MessageState.PROCESSING, MessageState.SENT}


class DemoFailed(Exception):
    """Something the demo claims did not happen."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailed(what)


# -- the receiver: what a real service would run behind its webhook URL ------------


@dataclass
class Inbox:
    """What the receiver's handlers did. They run in uvicorn's thread; the demo reads."""

    runs: list[tuple[str, str]] = field(default_factory=list)  # (handler, refid) that succeeded
    failures_to_force: int = 0

    def count(self, handler: str, refid: str) -> int:
        return self.runs.count((handler, refid))


inbox = Inbox()
rx = SmsReceiver(verifier=SharedCode("demo-shared-code"), basic_auth=WEBHOOK_AUTH)


@rx.on_message(keyword=OPT_OUT_KEYWORDS)
async def opt_out(msg: InboundSms) -> None:
    inbox.runs.append(("opt_out", msg.refid))


@rx.on_message()
async def save(msg: InboundSms) -> None:
    if inbox.failures_to_force:
        inbox.failures_to_force -= 1
        raise RuntimeError("simulated database outage")
    inbox.runs.append(("save", msg.refid))


@contextmanager
def uvicorn_thread(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port in a background thread; its base URL.

    The thread is stopped and joined on the way out, whatever ends the block.
    """
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="receiver", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise DemoFailed("the receiver did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


# -- the simulator's control API --------------------------------------------------


class Control:
    """``/_sandbox/...``: the simulator's clock, faults, request log and inbound SMS."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def call(
        self, verb: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> Any:
        response = await self.http.request(verb, f"/_sandbox/{path}", json=body, params=params)
        response.raise_for_status()
        return response.json()

    async def advance(self, seconds: float) -> None:
        """Move virtual time on; due deliveries have run when this returns."""
        await self.call("POST", "clock", {"advance": seconds})

    async def fault(self, **spec: Any) -> None:
        await self.call("POST", "faults", spec)

    async def requests(self, method: str, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.call(
            "GET", "requests", params={"method": method, "path": path}
        )
        return found

    async def inbound(self, text: str) -> dict[str, Any]:
        """An SMS from the customer arrives on NUMBER: the simulator POSTs it to the webhook."""
        sent: dict[str, Any] = await self.call(
            "POST", "inbound", {"from": CUSTOMER, "to": NUMBER, "message": text}
        )
        return sent

    async def delivery(self, delivery_id: int) -> dict[str, Any]:
        found: dict[str, Any] = await self.call("GET", f"deliveries/{delivery_id}")
        return found

    async def resend(self, delivery_id: int) -> dict[str, Any]:
        again: dict[str, Any] = await self.call("POST", f"deliveries/{delivery_id}/resend")
        return again


def statuses(delivery: dict[str, Any]) -> str:
    return ", ".join(str(a["status"] or a["error"]) for a in delivery["attempts"])


# -- the demo -----------------------------------------------------------------------


class Demo:
    """The steps, in order. Each prints its name and what happened; checks each claim."""

    def __init__(
        self, ip: AsyncIntelePeer, yay: AsyncYay, sim: Control, receiver_url: str, pace: float
    ) -> None:
        self.ip, self.yay, self.sim = ip, yay, sim
        self.receiver_url = receiver_url
        self.pace = pace
        self.done = 0

    async def step(self, name: str, line: str) -> None:
        if self.done and self.pace:
            await anyio.sleep(self.pace)
        self.done += 1
        print(f"[{self.done:>2}/{STEPS}] {name:<10} {line}", flush=True)

    def more(self, line: str) -> None:
        print(f"{'':17}{line}", flush=True)

    async def log_in_and_provision(self) -> None:
        asked = await self.ip.sms.provision(NUMBER)  # the client's first call: it logs in
        logins = await self.sim.requests("POST", "/_rest/v4/authenticate")
        expect(len(logins) == 1, "one login")
        await self.step("log in", "as user demo, on the first call: 1 POST /_rest/v4/authenticate")
        await self.sim.advance(120)  # provisioning takes minutes
        config = await self.ip.sms.webhooks.get(NUMBER)
        expect(config.state == ProvisioningState.PROVISIONED, "provisioned")
        await self.step(
            "provision", f"SMS on {NUMBER}: {asked.state}, then {config.state} 120 virtual s later"
        )

    async def point_webhook(self) -> None:
        host = self.receiver_url.removeprefix("http://")
        user, password = WEBHOOK_AUTH
        result = await self.ip.sms.webhooks.set(NUMBER, f"http://{user}:{password}@{host}/sms")
        expect(result.ok, "webhook set")
        await self.step("webhook", f"{NUMBER} -> http://{user}:***@{host}/sms ({result.status})")

    async def trigger_flow(self) -> None:
        result = await self.ip.smartflows.trigger(
            "demo-flow", ani=CUSTOMER, dnis=NUMBER, variables={"OrderNo": "A-1001"}
        )
        expect(result.accepted, "flow accepted")
        await self.step("flow", f"demo-flow for {CUSTOMER}, $OrderNo=A-1001: accepted")

    async def send_and_follow(self) -> None:
        sent = await self.ip.sms.send(
            from_=NUMBER, to=CUSTOMER, text="Your order A-1001 is ready", dlr=True
        )
        refid = sent.refid or ""
        expect(bool(refid), "a refid")
        seen: list[str | None] = []
        waited = 0
        while waited < 10:  # bounded: the simulator delivers after 3 virtual seconds
            status = await self.ip.sms.status(refid)
            if status.rcc_en not in seen:
                seen.append(status.rcc_en)
            if status.state not in PENDING:
                break
            await self.sim.advance(1)
            waited += 1
        expect(status.state is MessageState.DELIVERED, "delivered")
        states = " -> ".join(map(str, seen))
        await self.step("sms", f"{refid}: {states} in {waited} virtual s")

    async def onboard_agent(self) -> None:
        await self.ip.agents.onboard(
            user_object_id=str(uuid.uuid4()),
            tenant_id="demo-tenant",
            phone_number=AGENT_PHONE,
            upn="ann@example.com",
        )
        agent = await self.ip.agents.get(AGENT_PHONE, key_id="phone_number")
        agents = await self.ip.agents.list()
        expect(agent.status == AgentStatus.ACTIVE and len(agents) == 1, "one active agent")
        await self.step("agent", f"{agent.upn} on {agent.phone_number}: {agent.status}")

    async def create_ivr(self) -> None:
        extension = await self.yay.callflows.next_extension() or 500
        flow = (
            CallFlowBuilder("Support line", extension=extension)
            .start("menu")
            .ivr("menu", {"1": "sales", "2": "support"}, invalid="menu", timeout="voicemail")
            .ring("sales", sipusers=["92b0aca6-12aa-480c-a7b7-a31df403418c"], noanswer="voicemail")
            .forward("support", "+441234567890", noanswer="voicemail")
            .voicemail("voicemail", mailboxes=["5d1e4c52-8a7b-4c8e-9f0a-3b2d1c0e9f8a"])
            .build(keys="names")  # readable keys; Yay.com's own flows use UUIDs
        )
        created = await self.yay.callflows.create(flow)
        expect(bool(created.uuid), "a call flow uuid")
        await self.step("call flow", f"IVR '{flow.name}' created on extension {extension}:")
        for line in flow.to_mermaid().splitlines():
            self.more(line)

    async def ride_out_faults(self) -> None:
        await self.step("faults", "GET status meets a 503 and a 429; POST send a cut connection")
        refid = (await self.status_check()).refid or ""
        await self.sim.fault(kind="error", status=503, method="GET", path=MDR, times=1)
        await self.sim.fault(kind="rate_limit", retry_after=1, method="GET", path=MDR, times=1)
        status = await self.ip.sms.status(refid)
        answers = [r["status"] for r in await self.sim.requests("GET", MDR)][-3:]
        expect(answers == [503, 429, 200], "a 503, a 429, then the answer")
        self.more(f"GET status: {answers} -> {status.rcc_en}: a read is retried")

        before = len(await self.sim.requests("POST", SEND))
        await self.sim.fault(kind="drop_after", method="POST", path=SEND, times=1)
        try:
            await self.status_check()
        except APIConnectionError as exc:
            expect(exc.may_have_been_processed, "may have been processed")
            self.more(f"POST send: {type(exc).__name__}, may_have_been_processed=True")
        else:
            raise DemoFailed("the send whose connection was cut to raise APIConnectionError")
        sends = len(await self.sim.requests("POST", SEND)) - before
        expect(sends == 1, "one send request")
        self.more(f"it reached the simulator {sends} time (GET /_sandbox/requests): not resent")

    async def status_check(self) -> SendResult:
        return await self.ip.sms.send(from_=NUMBER, to=CUSTOMER, text="Status check")

    async def receive_inbound(self) -> None:
        await self.step("inbound", f"the simulator POSTs SMS from {CUSTOMER} to the receiver")
        stop = (await self.sim.inbound("STOP"))["deliveries"][0]
        expect(stop["state"] == "delivered", "STOP delivered")
        expect(inbox.count("opt_out", stop["refid"]) == 1, "opt-out ran once")
        self.more(f'"STOP": answered {statuses(stop)}; the opt-out handler ran once')

        inbox.failures_to_force = 1
        first = (await self.sim.inbound("Where is my order?"))["deliveries"][0]
        await self.sim.advance(1)  # IntelePeer retries until HTTP 200; first back-off 1 s
        retried = await self.sim.delivery(first["id"])
        again = await self.sim.resend(first["id"])  # and once more, by hand
        expect(statuses(retried) == "500, 200" and statuses(again) == "200", "500, 200; 200")
        expect(inbox.count("save", first["refid"]) == 1, "saved once")
        self.more(
            f'"Where is my order?": answered {statuses(retried)}, redelivered by hand: '
            f"{statuses(again)}; saved once"
        )

        await self.sim.fault(kind="duplicate", seconds=0, times=1)
        both = (await self.sim.inbound("See you at 5"))["deliveries"]
        await self.sim.advance(1)
        copies = [await self.sim.delivery(d["id"]) for d in both]
        expect([c["state"] for c in copies] == ["delivered"] * 2, "two copies, both 200")
        expect(inbox.count("save", copies[0]["refid"]) == 1, "duplicate saved once")
        self.more('"See you at 5": delivered twice at once, answered 200 twice; saved once')

        expect(len(inbox.runs) == len(set(inbox.runs)), "no handler ran twice for a message")
        handled = len({refid for _, refid in inbox.runs})
        self.more(f"{handled} messages, each handled exactly once")


def loopback_client(**options: Any) -> httpx.AsyncClient:
    """An httpx client that ignores HTTP_PROXY and friends: every URL here is on loopback,
    and a proxy set in the environment (for pip, say) would take that traffic and fail."""
    return httpx.AsyncClient(trust_env=False, **options)


async def run(receiver_url: str, pace: float) -> None:
    config = SandboxConfig(clock_rate=0)  # the documented demo account; time stands still
    async with (
        serve(config) as server,
        loopback_client(base_url=server.url, timeout=30) as http,
        loopback_client() as ip_http,
        loopback_client() as yay_http,
        AsyncIntelePeer(
            username="demo",
            password="demo",
            customer_id=12345678,
            base_url=server.url,
            http_client=ip_http,  # the SDK's client, without the environment's proxies
        ) as ip,
        AsyncYay(
            reseller="demo", user="demo", password="demo", base_url=server.url, http_client=yay_http
        ) as yay,
    ):
        sim = Control(http)
        demo = Demo(ip, yay, sim, receiver_url, pace)
        await demo.step("start", f"simulator {server.url}, receiver {receiver_url} (uvicorn)")
        await demo.log_in_and_provision()
        await demo.point_webhook()
        await demo.trigger_flow()
        await demo.send_and_follow()
        await demo.onboard_agent()
        await demo.create_ivr()
        await demo.ride_out_faults()
        await demo.receive_inbound()
        total = len(await sim.call("GET", "requests"))
    print(f"done: {total} API requests, all on loopback; simulator and receiver stopped")


def first_cause(exc: BaseException) -> str:
    """``Type: message`` of `exc`, or of the first error inside an exception group."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"


def interrupted(exc: BaseException) -> bool:
    """Whether Ctrl-C ended the run.

    Under trio, Ctrl-C is raised inside whichever task was running, so it can
    arrive wrapped in the exception group of any task group it crossed.
    """
    if isinstance(exc, BaseExceptionGroup):
        return exc.subgroup(KeyboardInterrupt) is not None
    return isinstance(exc, KeyboardInterrupt)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The SDK end to end against the simulator.")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds to pause between steps")
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    args = parser.parse_args(argv)
    # The SDK's and the receiver's own lines (retries, handler outcomes) are part of the show.
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(f"{'':17}log: %(message)s"))
    sdk_log = logging.getLogger("intelepeer_async")
    sdk_log.addHandler(handler)
    sdk_log.setLevel(logging.INFO)
    try:
        with uvicorn_thread(rx.app) as receiver_url:
            anyio.run(run, receiver_url, args.pace, backend=args.backend)
    except DemoFailed as failed:
        print(f"demo failed: expected {failed}", file=sys.stderr)
        return 1
    except (Exception, KeyboardInterrupt, BaseExceptionGroup) as exc:
        if interrupted(exc):
            print("demo: interrupted; the simulator and the receiver are stopped", file=sys.stderr)
            return 130
        print(f"demo failed: {first_cause(exc)}", file=sys.stderr)  # one line, not a traceback
        return 1
    finally:
        sdk_log.removeHandler(handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
