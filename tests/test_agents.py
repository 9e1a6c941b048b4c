"""ip.agents: SmartCommunicator, with its own JWT."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    AgentStatus,
    AsyncIntelePeer,
    BadRequestError,
    IntelePeerError,
    InvalidInputError,
    NotFoundError,
)

from .conftest import BASE
from .helpers import FIXTURES, make_jwt, seed_response, sent_json

pytestmark = pytest.mark.anyio

AGENTS = f"{BASE}/rest/v1/smartcomm/12345678/agents"


async def test_list_parses_the_seed(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.get(AGENTS).mock(return_value=seed_response(200, "agents_list_200.json"))
    agents = await ip.agents.list()
    request = route.calls[0].request
    assert request.headers["Authorization"] == "jwt"  # bare JWT, no scheme
    assert len(agents) == 4
    assert agents[0].user_object_id == "e2f19e0a-0490-41f4-8509-44a3390ae0b6"
    assert agents[3].phone_number == "+15727982189"
    assert all(a.status == AgentStatus.ACTIVE for a in agents)


async def test_list_other_customer(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.get(f"{BASE}/rest/v1/smartcomm/99/agents").mock(
        return_value=httpx.Response(200, json={"data": [], "error": None})
    )
    assert await ip.agents.list(customer_id=99) == []
    assert route.call_count == 1


async def test_get_parses_the_seed_and_encodes_the_id(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.get(f"{AGENTS}/%2B15727982113").mock(
        return_value=seed_response(200, "agent_get_200.json")
    )
    agent = await ip.agents.get("+15727982113", key_id="phone_number")
    assert route.calls[0].request.url.params["key_id"] == "phone_number"
    assert agent.phone_number == "+15727982113"
    assert agent.status == "active"


@pytest.mark.parametrize("status", ["offboarded", "orphaned", "suspended-in-future"])
async def test_any_status_parses(mock: respx.MockRouter, ip: AsyncIntelePeer, status: str) -> None:
    mock.get(f"{AGENTS}/u1").mock(return_value=httpx.Response(200, json={"status": status}))
    assert (await ip.agents.get("u1")).status == status


async def test_key_id_is_validated_per_call(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.route(url__startswith=AGENTS).mock(return_value=httpx.Response(200, json={}))
    for good in ("user_object_id", "agent_id", "upn", "phone_number", "consistency_id"):
        await ip.agents.get("x", key_id=good)
    with pytest.raises(InvalidInputError, match="key_id"):
        await ip.agents.get("x", key_id="email")
    # Writes accept fewer: no upn or phone_number.
    for bad in ("upn", "phone_number"):
        with pytest.raises(InvalidInputError, match="key_id"):
            await ip.agents.update("x", key_id=bad, upn="a@b")
        with pytest.raises(InvalidInputError, match="key_id"):
            await ip.agents.offboard("x", key_id=bad)
    assert route.call_count == 5


async def test_onboard_exact_request_and_seed_response(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    # The seed's example lacks its closing brace; it is served byte for byte.
    route = mock.post(AGENTS).mock(return_value=seed_response(200, "agent_onboard_200.txt"))
    result = await ip.agents.onboard(
        user_object_id="f544917c-a2b7-4d99-8088-c4340dc854c1",
        tenant_id="f67effe8-6d18-5c8f-df44-47c58b508420",
        phone_number="+18680831601",
    )
    assert sent_json(route) == {
        "user_object_id": "f544917c-a2b7-4d99-8088-c4340dc854c1",
        "tenant_id": "f67effe8-6d18-5c8f-df44-47c58b508420",
        "phone_number": "+18680831601",
    }
    assert result.message == "Onboarded Successfully"


async def test_onboard_valid_json_response_and_optionals(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.post(AGENTS).mock(
        return_value=httpx.Response(
            200, json={"data": {"message": "Onboarded Successfully"}, "error": None}
        )
    )
    result = await ip.agents.onboard(
        user_object_id="u",
        tenant_id="t",
        phone_number="+18680831601",
        consistency_id="c",
        upn="a@b",
    )
    assert sent_json(route)["consistency_id"] == "c"
    assert sent_json(route)["upn"] == "a@b"
    assert result.message == "Onboarded Successfully"
    with pytest.raises(InvalidInputError, match="phone_number"):
        await ip.agents.onboard(user_object_id="u", tenant_id="t", phone_number="8680831601")
    with pytest.raises(InvalidInputError, match="tenant_id"):
        await ip.agents.onboard(user_object_id="u", tenant_id="", phone_number="+18680831601")
    assert route.call_count == 1


ERROR_BODIES = json.loads((FIXTURES / "agent_error_bodies.json").read_text())


@pytest.mark.parametrize("case", ERROR_BODIES, ids=lambda c: c["body"][:60])
async def test_every_documented_error_reaches_the_user_unchanged(
    mock: respx.MockRouter, ip: AsyncIntelePeer, case: dict[str, object]
) -> None:
    body = str(case["body"])
    mock.post(AGENTS).mock(
        return_value=httpx.Response(int(str(case["status"])), content=body.encode())
    )
    expected_cls = BadRequestError if case["status"] == 400 else NotFoundError
    with pytest.raises(expected_cls) as info:
        await ip.agents.onboard(user_object_id="u", tenant_id="t", phone_number="+18680831601")
    assert info.value.message == json.loads(body)["message"]


async def test_update_sends_only_given_fields(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.patch(f"{AGENTS}/5f7ca4beb854df0ac6b8bee1").mock(
        return_value=seed_response(200, "agent_update_200.json")
    )
    agent = await ip.agents.update(
        "5f7ca4beb854df0ac6b8bee1", phone_number="+14715551212", transfer_data=True
    )
    assert sent_json(route) == {"phone_number": "+14715551212", "transfer_data": True}
    assert "key_id" not in route.calls[0].request.url.params
    assert agent.phone_number == "+15426987505"
    assert agent.upn == "string"
    await ip.agents.update(
        "5f7ca4beb854df0ac6b8bee1",
        key_id="agent_id",
        upn="u",
        user_object_id="o",
        tenant_id="t",
        consistency_id="c",
    )
    assert sent_json(route) == {
        "upn": "u",
        "user_object_id": "o",
        "tenant_id": "t",
        "consistency_id": "c",
    }
    assert route.calls[1].request.url.params["key_id"] == "agent_id"
    with pytest.raises(InvalidInputError, match="at least one"):
        await ip.agents.update("5f7ca4beb854df0ac6b8bee1")


async def test_update_error_shape(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    mock.patch(f"{AGENTS}/x").mock(
        return_value=httpx.Response(
            400,
            json={
                "status": "error",
                "message": "Phone number is not registered with SmartCommunicator",
            },
        )
    )
    with pytest.raises(BadRequestError) as info:
        await ip.agents.update("x", phone_number="+14715551212")
    assert info.value.message == "Phone number is not registered with SmartCommunicator"


async def test_offboard(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.delete(f"{AGENTS}/jane.doe%40company.com").mock(
        return_value=seed_response(200, "agent_offboard_200.json")
    )
    result = await ip.agents.offboard("jane.doe@company.com", key_id="consistency_id")
    assert result.status == "ok"
    assert route.calls[0].request.url.params["key_id"] == "consistency_id"
    mock.delete(f"{AGENTS}/gone").mock(
        return_value=httpx.Response(
            404, content=b'{"requestId": "90163d27", "message": "Agent not found"}'
        )
    )
    with pytest.raises(NotFoundError) as info:
        await ip.agents.offboard("gone")
    assert info.value.message == "Agent not found"
    assert info.value.request_id == "90163d27"


async def test_customer_id_is_required_and_numeric(mock: respx.MockRouter) -> None:
    ip = AsyncIntelePeer(smartcomm_token="jwt", base_url=BASE)
    with pytest.raises(InvalidInputError, match="customer_id is required"):
        await ip.agents.list()
    with pytest.raises(InvalidInputError, match="whole number"):
        await ip.agents.list(customer_id="12a")
    await ip.aclose()


async def test_smartcomm_login_with_username_password(mock: respx.MockRouter) -> None:
    jwt = make_jwt({"crt": 1711986489, "exp": 1712072890})
    login = mock.post(f"{BASE}/rest/v1/authenticate").mock(
        return_value=httpx.Response(200, json={"token": jwt})
    )
    route = mock.get(AGENTS).mock(return_value=seed_response(200, "agents_list_200.json"))
    async with AsyncIntelePeer(
        username="ann", password="pw", customer_id=12345678, base_url=BASE
    ) as ip:
        await ip.agents.list()
    assert sent_json(login) == {"username": "ann", "password": "pw"}
    assert route.calls[0].request.headers["Authorization"] == jwt


async def test_odd_entries_never_fail_the_list(
    mock: respx.MockRouter, ip: AsyncIntelePeer, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8 item 14: a raw ValidationError escaped ``agents.list``."""
    good = {"user_object_id": "u1", "phone_number": "+15727982113", "status": "active"}
    body = {"data": [good, {"upn": {"nested": "object"}}, "just a string"], "error": None}
    mock.get(AGENTS).respond(200, json=body)
    agents = await ip.agents.list()
    assert [a.user_object_id for a in agents] == ["u1"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2
    assert not any("+1572" in w for w in warnings)  # no personal data above DEBUG


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Proxy login</html>"),
        httpx.Response(200, json={"data": "nope", "error": None}),
        httpx.Response(200, json=[1, 2, 3]),
    ],
)
async def test_an_unreadable_list_is_an_error_not_empty(
    mock: respx.MockRouter, ip: AsyncIntelePeer, answer: httpx.Response
) -> None:
    """Issue 8 item 16: an HTML page gave ``agents.list() -> []``."""
    mock.get(AGENTS).mock(return_value=answer)
    with pytest.raises(IntelePeerError) as info:
        await ip.agents.list()
    assert isinstance(info.value, ia.APIResponseValidationError)
    mock.get(f"{AGENTS}/u1").respond(200, text="<html>Proxy login</html>")
    with pytest.raises(IntelePeerError) as info:
        await ip.agents.get("u1")
    assert isinstance(info.value, ia.APIResponseValidationError)


async def test_an_update_whose_answer_is_unreadable_says_it_was_made(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.patch(f"{AGENTS}/u1").respond(200, text="<html>OK</html>")
    with pytest.raises(IntelePeerError) as info:
        await ip.agents.update("u1", upn="a@b")
    assert route.call_count == 1
    assert isinstance(info.value, ia.APIResponseValidationError)
    assert info.value.succeeded and "was updated" in str(info.value)


async def test_a_retried_offboard_that_finds_nothing_was_offboarded(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    """Issue 8 item 8."""
    route = mock.delete(f"{AGENTS}/u1").mock(
        side_effect=[
            httpx.ReadTimeout("lost"),
            httpx.Response(404, json={"message": "Agent not found"}),
        ]
    )
    result = await ip.agents.offboard("u1")
    assert route.call_count == 2
    assert result.already_gone


NOT_REGISTERED = {
    "status": "error",
    "message": "Azure Object ID is not registered with SmartCommunicator",
}


@pytest.mark.parametrize("status", [400, 401])
async def test_a_retried_offboard_answered_not_registered_was_offboarded(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float], status: int
) -> None:
    """Review finding 3: seed 002 answers an offboard of an agent no longer registered
    with 400 or 401 "not registered"; after an attempt that may have offboarded it, that
    answer means the first attempt did."""
    route = mock.delete(f"{AGENTS}/u1").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(status, json=NOT_REGISTERED)]
    )
    result = await ip.agents.offboard("u1")
    assert route.call_count == 2
    assert result.already_gone
    assert result.raw == NOT_REGISTERED


@pytest.mark.parametrize("status", [400, 401])
async def test_a_first_offboard_answered_not_registered_still_raises(
    mock: respx.MockRouter, ip: AsyncIntelePeer, status: int
) -> None:
    mock.delete(f"{AGENTS}/u1").respond(status, json=NOT_REGISTERED)
    with pytest.raises(ia.APIStatusError) as info:
        await ip.agents.offboard("u1")
    assert info.value.status_code == status
    assert info.value.message == NOT_REGISTERED["message"]


async def test_the_documented_no_records_404_is_an_empty_list(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    body = {
        "requestId": "27a1a46d-384f-4f15-b89e-c24697d90163",
        "message": "No Records found for any of the parameters provided",
    }
    mock.get(AGENTS).respond(404, json=body)
    assert await ip.agents.list() == []


async def test_any_other_404_on_the_list_still_raises(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    mock.get(AGENTS).respond(404, text="<html>Not Found</html>")
    with pytest.raises(NotFoundError):
        await ip.agents.list()
