"""The simulator's rules, in-process: agents, webhooks, provisioning, call flows, tokens, MDR."""

from __future__ import annotations

import base64
import json
import string
from collections.abc import AsyncIterator
from typing import Any, Literal

import httpx
import pytest

from intelepeer_async.sandbox import Sandbox, SandboxConfig
from intelepeer_async.sandbox.agents import AOID_NOT_REGISTERED
from intelepeer_async.sandbox.clock import iso
from intelepeer_async.sandbox.faults import redact
from intelepeer_async.sandbox.messaging import set_webhook
from intelepeer_async.sandbox.state import World
from intelepeer_async.sandbox.yay import flow_problems

from .helpers import fixture_json, fixture_text

pytestmark = pytest.mark.anyio

AGENTS = "/rest/v1/smartcomm/12345678/agents"
T = "demo-tenant"
P1, P2, P3 = "+13035550101", "+13035550102", "+13035550103"
YAY = {"X-Auth-Reseller": "demo", "X-Auth-User": "demo", "X-Auth-Password": "demo"}


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with Sandbox(SandboxConfig(clock_rate=0)) as sb, sb.client() as client:
        client.sandbox = sb  # type: ignore[attr-defined]
        yield client


def sandbox_of(http: httpx.AsyncClient) -> Sandbox:
    sb: Sandbox = http.sandbox  # type: ignore[attr-defined]
    return sb


async def v4(http: httpx.AsyncClient) -> dict[str, str]:
    login = await http.post("/_rest/v4/authenticate", json={"username": "demo", "password": "demo"})
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def jwt(http: httpx.AsyncClient) -> dict[str, str]:
    login = await http.post("/rest/v1/authenticate", json={"username": "demo", "password": "demo"})
    return {"Authorization": login.json()["token"]}


# -- SmartCommunicator agents: every documented error body ------------------------------

A = {
    "user_object_id": "a",
    "tenant_id": T,
    "phone_number": P1,
    "consistency_id": "c1",
    "upn": "a@x",
}
B = {"user_object_id": "b", "tenant_id": T, "phone_number": P2, "upn": "b@x"}


def onboard(**fields: str) -> tuple[str, str, dict[str, Any]]:
    return "POST", AGENTS, {"user_object_id": "z", "tenant_id": T, "phone_number": P3, **fields}


SCENARIOS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "MSDS Consistency GUID already exists": onboard(consistency_id="c1"),
    "Azure Object ID exists with a different MSDS Consistency GUID": onboard(
        user_object_id="a", consistency_id="c9"
    ),
    "Tenant ID is not registered with SmartCommunicator": onboard(tenant_id="nope"),
    "TN is already registered with a different MSDS Consistency GUID": onboard(
        phone_number=P1, consistency_id="c9"
    ),
    "TN exists with the same MSDS Consistency GUID": onboard(phone_number=P1, consistency_id="c1"),
    "UPN is already registered with a different MSDS Consistency GUID": onboard(
        upn="a@x", consistency_id="c9"
    ),
    "UPN exists with the same MSDS Consistency GUID": onboard(upn="a@x", consistency_id="c1"),
    "Azure Object ID already exists": onboard(user_object_id="b"),
    "TN is already registered with a different Azure Object ID": onboard(phone_number=P2),
    "TN exists with the same Azure Object ID": onboard(phone_number=P2, user_object_id="b"),
    "UPN is already registered with a different Azure Object ID": onboard(upn="b@x"),
    "UPN exists with the same Azure Object ID": onboard(upn="b@x", user_object_id="b"),
    "TN is not part of the list of numbers that are already 10DLC registered": onboard(
        phone_number="+17205550000"
    ),
    "TN is already registered with a different UPN": onboard(phone_number=P2, upn="other@x"),
    "UPN is already registered with SmartCommunicator": onboard(upn="b@x", consistency_id="c9"),
    "Phone number is not registered with SmartCommunicator": (
        "PATCH",
        f"{AGENTS}/a",
        {"phone_number": "+17205550000"},
    ),
    "Azure Object ID is not registered with SmartCommunicator": ("DELETE", f"{AGENTS}/gone", None),
    "Agent not found": ("DELETE", f"{AGENTS}/nobody", None),
    "No Records found for any of the parameters provided": ("GET", f"{AGENTS}/nobody", None),
}


@pytest.mark.parametrize("index", range(len(fixture_json("agent_error_bodies.json"))))
async def test_every_documented_agent_error(http: httpx.AsyncClient, index: int) -> None:
    documented = fixture_json("agent_error_bodies.json")[index]
    expected = json.loads(documented["body"])
    headers = await jwt(http)
    for agent in (A, B, {"user_object_id": "gone", "tenant_id": T, "phone_number": P3}):
        assert (await http.post(AGENTS, json=agent, headers=headers)).status_code == 200
    assert (await http.delete(f"{AGENTS}/gone", headers=headers)).status_code == 200
    method, path, body = SCENARIOS[expected["message"]]
    answer = await http.request(method, path, json=body, headers=headers)
    assert answer.status_code == documented["status"]
    got = answer.json()
    if "requestId" in expected:
        assert set(got) == set(expected) and got["message"] == expected["message"]
    else:
        assert got == expected


async def test_agents_refuse_other_customers_and_bad_tokens(http: httpx.AsyncClient) -> None:
    headers = await jwt(http)
    other = await http.get("/rest/v1/smartcomm/999/agents", headers=headers)
    assert other.status_code == 403
    missing = await http.get(AGENTS)
    assert missing.status_code == 401
    assert missing.json() == {"message": "Unauthorized", "status": 401}
    bearer = {"Authorization": f"Bearer {headers['Authorization']}"}  # accepted too
    assert (await http.get(AGENTS, headers=bearer)).status_code == 404  # no agents yet


async def test_offboarded_agent_comes_back_on_onboarding(http: httpx.AsyncClient) -> None:
    headers = await jwt(http)
    await http.post(AGENTS, json=B, headers=headers)
    await http.delete(f"{AGENTS}/b", headers=headers)
    again = await http.post(AGENTS, json={**B, "phone_number": P3}, headers=headers)
    assert again.status_code == 200
    listed = (await http.get(AGENTS, headers=headers)).json()["data"]
    assert [(a["user_object_id"], a["status"], a["phone_number"]) for a in listed] == [
        ("b", "active", P3)
    ]


# -- SmartCommunicator JWT and v4 tokens ---------------------------------------------------


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


async def test_smartcomm_jwt_claims_follow_the_lifetime() -> None:
    config = SandboxConfig(clock_rate=0, smartcomm_token_lifetime=1234)
    async with Sandbox(config) as sb, sb.client() as http:
        token = (await jwt(http))["Authorization"]
    claims = claims_of(token)
    assert set(claims) == {"aid", "cid", "crt", "exp", "uid", "src"}
    assert claims["exp"] - claims["crt"] == 1234
    assert (claims["cid"], claims["uid"]) == (12345678, "demo")


async def test_v4_token_is_well_formed_and_expires_on_the_clock(http: httpx.AsyncClient) -> None:
    headers = await v4(http)
    token = headers["Authorization"].removeprefix("Bearer ")
    assert set(token) <= set(string.ascii_letters + string.digits + "-_.")
    mdr = "/_rest/v4/app/sms/mdr?refid=nope"
    assert (await http.get(mdr, headers=headers)).status_code == 404
    bare = {"Authorization": token}  # an older page shows the bare token: accepted
    assert (await http.get(mdr, headers=bare)).status_code == 404
    await sandbox_of(http).advance(86400)
    expired = await http.get(mdr, headers=headers)
    assert (expired.status_code, expired.json()) == (401, {"error": "token has expired"})
    missing = await http.get(mdr)
    assert (missing.status_code, missing.json()) == (401, {"detail": "unauthorized"})
    webhook = await http.get("/_rest/v4/my/did/sms/webhook?endpoint=%2B13035550100")
    assert webhook.json() == {"code": 401, "error": "Unauthorized"}
    wrong = await http.post("/_rest/v4/authenticate", json={"username": "demo", "password": "x"})
    assert (wrong.status_code, wrong.json()) == (401, {"code": 401, "error": "Unauthorized"})


# -- messages, provisioning, webhooks ------------------------------------------------------


async def send(http: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    body = {"from": "+13035550100", "to": "+13035550111", "text": "hi", **fields}
    return await http.post("/_rest/v4/app/sms/send", json=body, headers=await v4(http))


async def mdr(http: httpx.AsyncClient, refid: str) -> Any:
    return (await http.get(f"/_rest/v4/app/sms/mdr?refid={refid}", headers=await v4(http))).json()


async def test_message_status_moves_on_the_clock(http: httpx.AsyncClient) -> None:
    sb = sandbox_of(http)
    with_dlr = (await send(http, dlr=True, guid="g")).json()
    plain = (await send(http)).json()
    assert with_dlr["guid"] == "g" and len(with_dlr["refid"]) == 32
    assert await mdr(http, with_dlr["refid"]) == {"code": 200, "RCC_en": "Queued", "RCC": 0}
    await sb.advance(1)
    assert (await mdr(http, with_dlr["refid"]))["RCC_en"] == "Sent"
    await sb.advance(2)
    assert (await mdr(http, with_dlr["refid"]))["RCC_en"] == "DLR:Delivered"
    assert (await mdr(http, plain["refid"]))["RCC_en"] == "Sent"  # no receipt was asked for


async def test_undeliverable_destination() -> None:
    config = SandboxConfig(clock_rate=0, undeliverable_numbers=["+13035550111"])
    async with Sandbox(config) as sb, sb.client() as http:
        sent = (await send(http, dlr=True)).json()
        await sb.advance(10)
        assert (await mdr(http, sent["refid"]))["RCC_en"] == "DLR:Undeliverable"


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"to": "13035550111"}, 400),
        ({"text": ""}, 400),
        ({"media": [{"link": "https://x/y.png", "data": "aGk="}]}, 400),
        ({"media": [{"data": base64.b64encode(b"x" * (5 * 1024 * 1024 + 1)).decode()}]}, 400),
        ({"from": "+13035550199"}, 404),
    ],
)
async def test_send_refusals(http: httpx.AsyncClient, fields: dict[str, Any], status: int) -> None:
    answer = await send(http, **fields)
    assert answer.status_code == status
    assert set(answer.json()) == {"code", "error"}
    assert sandbox_of(http).state()["messages"] == []


async def test_provisioning_states_and_conflict(http: httpx.AsyncClient) -> None:
    sb = sandbox_of(http)
    headers = await v4(http)
    url = "/_rest/v4/my/did/sms/provision"
    hook = "/_rest/v4/my/did/sms/webhook?endpoint=%2B13035550110"
    never = await http.get(hook, headers=headers)
    assert never.json()["error"] == "The telephone number has not been enabled for SMS"
    first = await http.post(url, json={"endpoints": ["+13035550110"]}, headers=headers)
    assert (first.status_code, first.json()) == (
        202,
        {"code": 202, "provisioning": {"state": "requested"}},
    )
    states = []
    for step in (0, 59, 1, 60):
        await sb.advance(step)
        states.append((await http.get(hook, headers=headers)).json()["provisioning"]["state"])
        busy = await http.post(url, json={"endpoints": ["+13035550110"]}, headers=headers)
        states.append(busy.status_code)
    assert states == ["requested", 409, "requested", 409, "provisioning", 409, "provisioned", 400]
    two = await http.post(
        url, json={"endpoints": ["+13035550111", "+13035550112"]}, headers=headers
    )
    assert two.status_code == 400  # one number per request


def test_bulk_webhook_answers_each_number() -> None:
    world = World(SandboxConfig(clock_rate=0))
    status, body = set_webhook(
        world, ["+13035550100", "3035550101", "+13035550111", "+1999"], "http://h/"
    )
    assert status == 207
    assert [(e["endpoint"], e["status"]) for e in body["endpoints"]] == [
        ("+13035550100", 201),
        ("3035550101", 400),
        ("+13035550111", 400),
        ("+1999", 404),
    ]
    assert body["endpoints"][0]["response"] == {
        "tnkey": "+13035550100",
        "webhook": "http://h/",
        "provisioning": {"state": "provisioned"},
    }
    assert (
        body["endpoints"][1]["response"]["error"]
        == "The telephone number is not in the proper E.164 format"
    )
    single = set_webhook(world, ["+13035550101"], "http://h/")
    seed = fixture_json("webhook_set_single_201.json")
    assert single == (201, {**seed, "tnkey": "+13035550101", "webhook": "http://h/"})


async def test_webhook_url_must_be_well_formed(http: httpx.AsyncClient) -> None:
    body = {"endpoints": ["+13035550100"], "webhook": "not a url"}
    answer = await http.post("/_rest/v4/my/did/sms/webhook", json=body, headers=await v4(http))
    assert answer.status_code == 400
    assert answer.json()["error"] == "Improperly-formatted URL provided for the webhook"


async def test_smartflow_bad_input(http: httpx.AsyncClient) -> None:
    url = "/_rest/v4/sfgen/apitriggers"
    headers = await v4(http)
    missing = await http.post(
        url, json={"flowId": "demo-flow", "ANI": "+17205551212"}, headers=headers
    )
    assert missing.status_code == 400
    unauth = await http.post(url, json={"flowId": "demo-flow"})
    assert unauth.status_code == 401


# -- Yay.com call flows ---------------------------------------------------------------------


def seed_flow() -> dict[str, Any]:
    flow: dict[str, Any] = json.loads(fixture_text("callflow_create_body.json"))
    return flow


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda f: f.pop("name"), "name must be a non-empty string"),
        (lambda f: f.update(extension="501"), "extension must be a positive integer"),
        (lambda f: f.update(flow={}), "flow must be a non-empty map of modules"),
        (lambda f: f["flow"].pop("161ec941-1c6a-4d42-b011-1c050487324d"), "no 'start' module"),
        (lambda f: f["flow"].update(x={"module": "teleport"}), "unknown module type 'teleport'"),
        (lambda f: f["flow"].update(x={"module": "busy", "next": "y"}), "is terminating"),
        (lambda f: f.update(show_call_route_name="yes"), "must be a boolean"),
    ],
)
def test_flow_problems(mutate: Any, problem: str) -> None:
    flow = seed_flow()
    assert flow_problems(flow) == []
    mutate(flow)
    assert any(problem in p for p in flow_problems(flow)), flow_problems(flow)


async def test_bad_flow_is_a_400_envelope_with_the_reason_in_the_log(
    http: httpx.AsyncClient,
) -> None:
    headers = {**YAY, "User-Agent": "tests"}
    flow = seed_flow()
    flow["flow"]["9085aa47-0ff0-4fd0-9c80-6077e1f475c2"]["next"]["1"] = "missing"
    answer = await http.post("/voip/flow", json=flow, headers=headers)
    assert (answer.status_code, answer.json()) == (400, fixture_json("callflow_400.json"))
    note = sandbox_of(http).requests(path="/voip/flow")[-1]["note"]
    assert "points at missing module 'missing'" in note
    created = await http.post("/voip/flow", json=seed_flow(), headers=headers)
    assert created.status_code == 201
    clash = await http.post("/voip/flow", json=seed_flow(), headers=headers)
    assert clash.status_code == 400  # extension 501 is taken
    assert "extension 501 is used" in sandbox_of(http).requests(path="/voip/flow")[-1]["note"]


async def test_yay_create_answer_matches_the_seed(http: httpx.AsyncClient) -> None:
    headers = {**YAY, "User-Agent": "tests"}
    created = (await http.post("/voip/flow", json=seed_flow(), headers=headers)).json()
    seed = fixture_json("callflow_create_201.json")
    created["result"]["uuid"] = seed["result"]["uuid"]
    assert created["result"].pop("created_on") == sandbox_of(http).state()["now_iso"][:10]
    seed["result"].pop("created_on")
    assert created == seed
    deleted = await http.delete(f"/voip/flow/{seed['result']['uuid']}", headers=headers)
    assert deleted.status_code == 404  # another uuid: not found


async def test_yay_header_checks() -> None:
    config = SandboxConfig(clock_rate=0, yay_sub_accounts=["sub-1"])
    async with Sandbox(config) as sb, sb.client() as http:
        no_agent = await http.get("/voip/flow", headers={**YAY, "User-Agent": ""})
        assert no_agent.json()["status_code"] == 400
        wrong = await http.get("/voip/flow", headers={**YAY, "X-Auth-User": "x"})
        assert wrong.json() == {"result": {}, "status_code": 401, "status_message": "Unauthorized"}
        stranger = await http.get("/voip/flow", headers={**YAY, "X-Auth-For": "sub-2"})
        assert stranger.status_code == 403
        await http.post("/voip/flow", json=seed_flow(), headers={**YAY, "X-Auth-For": "sub-1"})
        own = await http.get("/voip/flow", headers=YAY)
        sub = await http.get("/voip/flow", headers={**YAY, "X-Auth-For": "sub-1"})
    assert (len(own.json()["result"]), len(sub.json()["result"])) == (0, 1)


# -- in-process clients ---------------------------------------------------------------------


async def test_sdk_clients_in_process_with_a_dropped_connection() -> None:
    from intelepeer_async import APIConnectionError, AsyncIntelePeer, AsyncYay

    async with Sandbox(SandboxConfig(clock_rate=0)) as sb:
        sb.add_fault(kind="drop_after", path="/_rest/v4/app/sms/send", times=1)
        async with sb.client() as http:
            ip = AsyncIntelePeer(
                username="demo", password="demo", base_url=sb.url, http_client=http
            )
            with pytest.raises(APIConnectionError) as err:
                await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")
            assert err.value.may_have_been_processed
            yay = AsyncYay(
                reseller="demo", user="demo", password="demo", base_url=sb.url, http_client=http
            )
            assert await yay.callflows.next_extension() == 500
        async with sb.intelepeer_client() as shared:
            await shared.sms.send(from_="+13035550100", to="+13035550111", text="y")
    assert [m["text"] for m in sb.state()["messages"]] == ["x", "y"]  # the dropped one counted


@pytest.mark.parametrize(
    ("body", "logged"),
    [
        ({"webhook": "https://u:pw@rx.example/sms"}, {"webhook": "https://u:********@rx.example/sms"}),
        (["see http://a:p@ss@h:8/x?q=1 now"], ["see http://a:********@h:8/x?q=1 now"]),
        ("http://[bad:u:pw@host", "http://[bad:********@host"),  # unparseable: masked anyway
        ({"to": "me@example.com", "token": "t"}, {"to": "me@example.com", "token": "********"}),
        ("https://user@host/no-password", "https://user@host/no-password"),
    ],
)  # fmt: skip
def test_the_request_log_masks_url_passwords_anywhere(body: Any, logged: Any) -> None:
    assert redact(body) == logged


async def test_the_clock_stops_short_of_dates_it_cannot_show(http: httpx.AsyncClient) -> None:
    far = await http.post("/_sandbox/clock", json={"advance": 1e12})
    assert far.status_code == 400
    assert "year 9000" in far.json()["error"]
    for path in ("/_sandbox/clock", "/_sandbox/state", "/_sandbox/requests"):
        assert (await http.get(path)).status_code == 200, path  # still answering
    millennium = await http.post("/_sandbox/clock", json={"advance": 1000 * 365.25 * 86400})
    assert millennium.status_code == 200
    assert millennium.json()["now_iso"][:2] == "30"  # about 3026
    with pytest.raises(ValueError, match="clock_start"):
        SandboxConfig(clock_start=1e13)


def test_iso_writes_any_moment() -> None:
    assert iso(0) == "1970-01-01T00:00:00.000+00:00"
    for moment in (1e15, -1e15, 1e300):  # e.g. a token lifetime of a billion years
        assert iso(moment).startswith(f"{moment:.3f} (epoch seconds")


async def test_an_alphanumeric_sender_id_on_the_account_can_send(http: httpx.AsyncClient) -> None:
    sent = await send(http, **{"from": "57-Hello8"})  # the default config's sender ID
    assert sent.status_code == 202
    assert (await mdr(http, sent.json()["refid"]))["RCC_en"] == "Queued"
    unregistered = await send(http, **{"from": "57-Other"})
    assert unregistered.status_code == 404
    assert [m["from"] for m in sandbox_of(http).state()["messages"]] == ["57-Hello8"]
    async with sandbox_of(http).intelepeer_client() as ip:  # and through the SDK
        assert (await ip.sms.send(from_="57-Hello8", to="+13035550111", text="hi")).refid
    with pytest.raises(ValueError, match="sender_ids"):
        SandboxConfig(sender_ids=["+13035550100"])  # a number is not a sender ID


@pytest.mark.parametrize("status", [400, 401])
async def test_offboarding_an_offboarded_agent_answers_the_configured_status(
    status: Literal[400, 401],
) -> None:
    async with (
        Sandbox(SandboxConfig(clock_rate=0, offboard_refusal_status=status)) as sb,
        sb.client() as http,
    ):
        headers = await jwt(http)
        await http.post(AGENTS, json=B, headers=headers)
        assert (await http.delete(f"{AGENTS}/b", headers=headers)).status_code == 200
        again = await http.delete(f"{AGENTS}/b", headers=headers)
    assert again.status_code == status
    assert again.json() == {"status": "error", "message": AOID_NOT_REGISTERED}


async def test_sandbox_error_is_public() -> None:
    from intelepeer_async.sandbox import SandboxError

    async with Sandbox(SandboxConfig(clock_rate=0)) as sb:
        with pytest.raises(SandboxError, match="advance") as refused:
            await sb.advance(-1)
    assert refused.value.status == 400
