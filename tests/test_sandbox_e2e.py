"""The SDK end to end against the simulator over real loopback sockets, asyncio and trio.

Every resource method of `AsyncIntelePeer` and `AsyncYay`, logins that expire
mid-run, and each request fault kind; the request log (what the simulator saw)
is the witness, so these assertions hold whatever the client's internals.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import anyio
import pytest

from intelepeer_async import (
    AgentStatus,
    APIConnectionError,
    APITimeoutError,
    AsyncIntelePeer,
    AuthenticationError,
    BadRequestError,
    CallFlowBuilder,
    ConflictError,
    InternalServerError,
    Media,
    MessageState,
    NotFoundError,
    PermissionDeniedError,
    ProvisioningState,
    ServiceURLs,
)
from intelepeer_async._http import TransportName
from intelepeer_async.sandbox import SandboxConfig, SandboxServer, serve

pytestmark = pytest.mark.anyio

SEND = "/_rest/v4/app/sms/send"
MDR = "/_rest/v4/app/sms/mdr"
LOGIN = "/_rest/v4/authenticate"


@pytest.fixture
def anyio_backend(loop_and_transport: tuple[str, str]) -> str:
    """Every test here runs on each transport (aiohttp under asyncio only)."""
    return loop_and_transport[0]


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with serve(SandboxConfig(clock_rate=0)) as running:
        yield running


def statuses(server: SandboxServer, path: str, method: str | None = None) -> list[Any]:
    return [r["status"] for r in server.sandbox.requests(method=method, path=path)]


async def test_served_on_loopback(server: SandboxServer, transport: TransportName) -> None:
    assert server.url.startswith("http://127.0.0.1:")
    assert server.port > 0


async def test_sms_send_status_provision_and_webhooks(
    server: SandboxServer, transport: TransportName
) -> None:
    async with server.intelepeer_client(transport=transport) as ip:
        sent = await ip.sms.send(
            from_="+13035550100", to="+13035550111", text="hi", guid="g-1", dlr=True
        )
        assert sent.status_code == 202 and sent.refid and len(sent.refid) == 32
        assert (await ip.sms.status(sent.refid)).state is MessageState.QUEUED
        await server.sandbox.advance(1)
        assert (await ip.sms.status(sent.refid, method="POST")).state is MessageState.SENT
        await server.sandbox.advance(2)
        assert (await ip.sms.status(sent.refid)).rcc_en == "DLR:Delivered"
        mms = await ip.sms.send(
            from_="+13035550100",
            to="+13035550111",
            text="",
            media=[Media(link="https://example.com/cat.jpg", content_type="image/jpeg")],
        )
        assert mms.refid
        with pytest.raises(NotFoundError):  # the MDR covers SMS only
            await ip.sms.status(mms.refid)

        provisioning = await ip.sms.provision("+13035550110")
        assert (provisioning.code, provisioning.state) == (202, ProvisioningState.REQUESTED)
        with pytest.raises(ConflictError):
            await ip.sms.provision("+13035550110")
        await server.sandbox.advance(120)
        done = await ip.sms.webhooks.get("+13035550110")
        assert done.state is ProvisioningState.PROVISIONED

        one = await ip.sms.webhooks.set("+13035550110", "https://user:pw@rx.example.com/sms")
        assert (one.status, one.state) == (201, ProvisioningState.PROVISIONED)
        many = await ip.sms.webhooks.set(
            ["+13035550101", "+13035550111", "+19995550100"], "http://127.0.0.1:9/sms"
        )
        assert [(r.number, r.status) for r in many] == [
            ("+13035550101", 201),
            ("+13035550111", 400),
            ("+19995550100", 404),
        ]
        assert many[1].error == "The telephone number has not been enabled for SMS"
        config = await ip.sms.webhooks.get("+13035550101")
        assert config.webhook == "http://127.0.0.1:9/sms"
    state = server.sandbox.state()
    hook = next(n for n in state["numbers"] if n["number"] == "+13035550110")["webhook"]
    assert hook == "https://user:********@rx.example.com/sms"  # the password is not shown
    logged = server.sandbox.requests("POST", "/_rest/v4/my/did/sms/webhook")
    assert logged[0]["body"]["webhook"] == hook  # nor in the request log
    assert all("pw@" not in json.dumps(r) for r in server.sandbox.requests())


async def test_sms_refusals_with_documented_codes(
    server: SandboxServer, transport: TransportName
) -> None:
    async with server.intelepeer_client(max_retries=0, transport=transport) as ip:
        with pytest.raises(BadRequestError, match="not been enabled for SMS"):
            await ip.sms.send(from_="+13035550111", to="+13035550100", text="x")
        with pytest.raises(NotFoundError, match="not available for use"):
            await ip.sms.send(from_="+19995550100", to="+13035550100", text="x")
        with pytest.raises(PermissionDeniedError, match="International"):
            await ip.sms.send(from_="+13035550100", to="+447700900123", text="x")
        with pytest.raises(NotFoundError):
            await ip.sms.webhooks.get("+19995550100")
        with pytest.raises(BadRequestError):
            await ip.sms.provision("+13035550100")  # SMS is on already
    assert not server.sandbox.state()["messages"]


async def test_smartflows_v4_and_legacy(server: SandboxServer, transport: TransportName) -> None:
    async with server.intelepeer_client(max_retries=0, transport=transport) as ip:
        result = await ip.smartflows.trigger(
            "demo-flow", ani="+17205551212", dnis="+13035550100", variables={"OrderNo": "A-1"}
        )
        assert (result.accepted, result.status_code) == (True, 202)
        legacy = await ip.smartflows.trigger(
            "demo-flow", ani="+17205551212", dnis="+13035550101", legacy=True
        )
        assert legacy.accepted
        with pytest.raises(NotFoundError):
            await ip.smartflows.trigger("no-such-flow", ani="+17205551212", dnis="+13035550100")
        with pytest.raises(PermissionDeniedError):
            await ip.smartflows.trigger("demo-flow", ani="+17205551212", dnis="+17205551213")
    triggers = server.sandbox.state()["triggers"]
    assert [(t["via"], t["DNIS"]) for t in triggers] == [
        ("v4", "+13035550100"),
        ("legacy", "+13035550101"),
    ]
    assert triggers[0]["variables"] == {"OrderNo": "A-1"}


async def test_agents_lifecycle(server: SandboxServer, transport: TransportName) -> None:
    async with server.intelepeer_client(max_retries=0, transport=transport) as ip:
        # The seed documents "no agents" as a 404 "No Records found": the SDK reads it as [].
        assert await ip.agents.list() == []
        onboarded = await ip.agents.onboard(
            user_object_id="u-1", tenant_id="demo-tenant", phone_number="+13035550101"
        )
        assert onboarded.message == "Onboarded Successfully"
        with pytest.raises(BadRequestError) as err:
            await ip.agents.onboard(
                user_object_id="u-2", tenant_id="demo-tenant", phone_number="+13035550101"
            )
        assert err.value.message == "TN is already registered with a different Azure Object ID"
        agent = await ip.agents.get("+13035550101", key_id="phone_number")
        assert (agent.user_object_id, agent.status) == ("u-1", AgentStatus.ACTIVE)
        updated = await ip.agents.update("u-1", upn="jane@example.com", consistency_id="c-1")
        assert (updated.upn, updated.consistency_id) == ("jane@example.com", "c-1")
        assert (await ip.agents.offboard("c-1", key_id="consistency_id")).status == "ok"
        listed = await ip.agents.list()
        assert [a.status for a in listed] == [AgentStatus.OFFBOARDED]
        with pytest.raises(NotFoundError, match="Agent not found"):
            await ip.agents.offboard("nobody")


async def test_callflows_lifecycle(server: SandboxServer, transport: TransportName) -> None:
    flow = (
        CallFlowBuilder("Support", extension=501)
        .start("menu")
        .ivr("menu", {"1": "sales"}, invalid="menu", timeout="vm")
        .ring("sales", sipusers=["92b0aca6-12aa-480c-a7b7-a31df403418c"], noanswer="vm")
        .voicemail("vm", mailboxes=["5d1e4c52-8a7b-4c8e-9f0a-3b2d1c0e9f8a"])
        .build()
    )
    async with server.yay_client(max_retries=0, transport=transport) as yay:
        assert await yay.callflows.list() == []
        assert await yay.callflows.next_extension() == 500
        created = await yay.callflows.create(flow)
        assert created.uuid and created.name == "Support"
        fetched = await yay.callflows.get(created.uuid)
        assert fetched.extension == 501 and fetched.created_on
        renamed = flow.model_copy(update={"name": "Support 2", "extension": 500})
        updated = await yay.callflows.update(created.uuid, renamed)
        assert (updated.name, updated.extension) == ("Support 2", 500)
        assert await yay.callflows.next_extension() == 501
        assert [f.uuid for f in await yay.callflows.list()] == [created.uuid]
        await yay.callflows.delete(created.uuid)
        with pytest.raises(NotFoundError):
            await yay.callflows.get(created.uuid)
        with pytest.raises(NotFoundError):
            await yay.callflows.delete(created.uuid)


async def test_yay_checks_credentials(server: SandboxServer, transport: TransportName) -> None:
    async with server.yay_client(password="wrong", max_retries=0, transport=transport) as yay:
        with pytest.raises(AuthenticationError, match="Unauthorized"):
            await yay.callflows.list()


async def test_logins_expire_mid_run(transport: TransportName) -> None:
    config = SandboxConfig(clock_rate=0, token_lifetime=600, smartcomm_token_lifetime=3600)
    async with serve(config) as server, server.intelepeer_client(transport=transport) as ip:
        first = await ip.sms.send(from_="+13035550100", to="+13035550111", text="1")
        assert await ip.agents.list() == []  # no agents yet: the documented 404, read as []
        # Both tokens expire; the client cannot know. They are seconds old on the real
        # clock, but the 401s say "expired", so the client logs in again at once.
        await server.sandbox.advance(3601)
        second = await ip.sms.send(from_="+13035550100", to="+13035550111", text="2")
        assert await ip.agents.list() == []
    assert first.refid != second.refid
    assert statuses(server, LOGIN) == [200, 200]
    assert statuses(server, SEND) == [202, 401, 202]
    assert statuses(server, "/rest/v1/authenticate") == [200, 200]
    assert statuses(server, "/rest/v1/smartcomm/12345678/agents") == [404, 401, 404]
    assert server.sandbox.requests(path=SEND)[1]["note"] == "v4 token expired"
    assert statuses(server, "/rest/v1/authenticate") == [200, 200]
    assert statuses(server, "/rest/v1/smartcomm/*") == [404, 401, 404]
    assert len(server.sandbox.state()["messages"]) == 2


async def test_portal_token_and_legacy_token_url(
    server: SandboxServer, transport: TransportName
) -> None:
    async with AsyncIntelePeer(
        token="demo-portal-token", base_url=server.url, transport=transport
    ) as ip:
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="portal token")
    legacy = replace(
        ServiceURLs.all_at(server.url),
        token_url=f"{server.url}/_rest/v4/app/sms/authenticate/get_portal_auth_token",
    )
    async with AsyncIntelePeer(
        username="demo", password="demo", urls=legacy, transport=transport
    ) as ip:
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="legacy login")
    async with AsyncIntelePeer(
        username="demo", password="nope", base_url=server.url, transport=transport
    ) as ip:
        with pytest.raises(AuthenticationError, match="Unauthorized"):
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")
    assert len(server.sandbox.state()["messages"]) == 2


# -- faults ---------------------------------------------------------------------------


async def test_drop_after_processing_a_send_is_not_resent(
    server: SandboxServer, transport: TransportName
) -> None:
    server.sandbox.add_fault(kind="drop_after", method="POST", path=SEND, times=1)
    async with server.intelepeer_client(transport=transport) as ip:
        with pytest.raises(APIConnectionError) as err:
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="paid")
    assert err.value.may_have_been_processed is True
    sends = server.sandbox.requests(path=SEND)
    assert len(sends) == 1  # never sent twice
    assert (sends[0]["fault"], sends[0]["processed"], sends[0]["dropped"]) == (
        "drop_after",
        True,
        True,
    )
    assert len(server.sandbox.state()["messages"]) == 1  # it did take effect


async def test_an_offboard_cut_after_processing_is_reported_offboarded_on_retry(
    server: SandboxServer, no_sleep: list[float], transport: TransportName
) -> None:
    """Review finding 3: the retry is refused "not registered", as seed 002 documents."""
    async with server.intelepeer_client(transport=transport) as ip:
        await ip.agents.onboard(
            user_object_id="u-9", tenant_id="demo-tenant", phone_number="+13035550101"
        )
        server.sandbox.add_fault(
            kind="drop_after", method="DELETE", path="/rest/v1/smartcomm/*", times=1
        )
        result = await ip.agents.offboard("u-9")
    assert result.already_gone is True
    deletes = server.sandbox.requests(method="DELETE")
    assert [(r["processed"], r["dropped"]) for r in deletes] == [(True, True), (True, False)]
    assert deletes[1]["status"] in (400, 401)
    agent = next(a for a in server.sandbox.state()["agents"] if a["user_object_id"] == "u-9")
    assert agent["status"] == "offboarded"


async def test_drop_before_a_get_is_retried(
    server: SandboxServer, no_sleep: list[float], transport: TransportName
) -> None:
    async with server.intelepeer_client(transport=transport) as ip:
        sent = await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")
        assert sent.refid
        server.sandbox.add_fault(kind="drop_before", method="GET", path=MDR, times=1)
        status = await ip.sms.status(sent.refid)
    assert status.state is MessageState.QUEUED
    mdr = server.sandbox.requests(path=MDR)
    assert [(r["fault"], r["processed"]) for r in mdr] == [("drop_before", False), (None, True)]
    assert len(no_sleep) == 1


async def test_drop_before_a_post_is_reported_not_processed_server_side(
    server: SandboxServer, transport: TransportName
) -> None:
    server.sandbox.add_fault(kind="drop_before", method="POST", path=SEND, times=1)
    async with server.intelepeer_client(transport=transport) as ip:
        with pytest.raises(APIConnectionError):
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")
    assert [r["processed"] for r in server.sandbox.requests(path=SEND)] == [False]
    assert server.sandbox.state()["messages"] == []


async def test_error_status_faults(
    server: SandboxServer, no_sleep: list[float], transport: TransportName
) -> None:
    sb = server.sandbox
    sb.add_fault(kind="error", status=503, method="POST", path=SEND, times=1)
    async with server.intelepeer_client(transport=transport) as ip:
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="refused, then sent")
        assert statuses(server, SEND) == [503, 202]  # 503: refused before processing
        sb.add_fault(kind="error", status=500, method="POST", path=SEND, times=1)
        with pytest.raises(InternalServerError, match="Injected fault"):
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="maybe")
        assert statuses(server, SEND) == [503, 202, 500]  # a POST is not resent after a 500
        sb.add_fault(kind="error", status=502, method="GET", path="/_rest/v4/my/did/sms/*")
        with pytest.raises(InternalServerError):
            await ip.sms.webhooks.get("+13035550100")
    assert statuses(server, "/_rest/v4/my/did/sms/webhook") == [502, 502, 502]  # 3 attempts
    assert len(sb.state()["messages"]) == 1


async def test_rate_limit_with_retry_after(
    server: SandboxServer, no_sleep: list[float], transport: TransportName
) -> None:
    server.sandbox.add_fault(kind="rate_limit", retry_after=7, path=SEND, times=1)
    async with server.intelepeer_client(transport=transport) as ip:
        await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")
    assert statuses(server, SEND) == [429, 202]
    assert no_sleep == [7.0]


async def test_latency_fault(server: SandboxServer, transport: TransportName) -> None:
    server.sandbox.add_fault(kind="latency", seconds=0.3, method="GET", path=MDR)
    async with server.intelepeer_client(transport=transport) as ip:
        sent = await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")
        assert sent.refid
        started = anyio.current_time()
        await ip.sms.status(sent.refid)
        assert anyio.current_time() - started >= 0.3
        with pytest.raises(APITimeoutError):
            await ip.with_options(timeout=0.1, max_retries=0).sms.status(sent.refid)
