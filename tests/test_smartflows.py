"""ip.smartflows.trigger."""

from __future__ import annotations

import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    APITimeoutError,
    AsyncIntelePeer,
    AuthenticationError,
    BadRequestError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

from .conftest import BASE
from .helpers import sent_json

pytestmark = pytest.mark.anyio

V4 = f"{BASE}/_rest/v4/sfgen/apitriggers"
LEGACY = f"{BASE}/v2/api/apitriggers"


async def test_trigger_v4_with_variables(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(V4).mock(return_value=httpx.Response(202, content=b"true"))
    result = await ip.smartflows.trigger(
        "flow-1",
        ani="+17205551212",
        dnis="+17205551213",
        variables={"OrderNo": "A-9", "orderno": 3, "Paid": True, "Total": 9.5},
    )
    assert sent_json(route) == {
        "flowId": "flow-1",
        "ANI": "+17205551212",
        "DNIS": "+17205551213",
        "OrderNo": "A-9",
        "orderno": 3,
        "Paid": True,
        "Total": 9.5,
    }
    assert route.calls[0].request.headers["Authorization"] == "Bearer tok"
    assert result.accepted is True
    assert result.status_code == 202
    assert result.raw is True


async def test_trigger_legacy_url(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(LEGACY).mock(return_value=httpx.Response(202))
    result = await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213", legacy=True)
    assert route.call_count == 1
    assert result.accepted


async def test_default_hosts() -> None:
    ip = AsyncIntelePeer(token="t")
    with respx.mock:
        v4 = respx.post("https://api.intelepeer.com/_rest/v4/sfgen/apitriggers").respond(202)
        legacy = respx.post("https://smart-flows.intelepeer.com/v2/api/apitriggers").respond(202)
        await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213")
        await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213", legacy=True)
    assert v4.call_count == 1 and legacy.call_count == 1
    await ip.aclose()


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"ani": "7205551212"}, "ani"),
        ({"dnis": "+0205551212"}, "dnis"),
        ({"variables": {"flowId": "x"}}, "collides"),
        ({"variables": {"ANI": "x"}}, "collides"),
        ({"variables": {"DNIS": "x"}}, "collides"),
        ({"variables": {"list": [1]}}, "must be str"),
        ({"variables": {"": "x"}}, "non-empty"),
        ({"flow_id": " "}, "flow_id"),
    ],
)
async def test_trigger_rejects_bad_input(
    mock: respx.MockRouter, ip: AsyncIntelePeer, kwargs: dict[str, object], problem: str
) -> None:
    route = mock.post(V4).mock(return_value=httpx.Response(202))
    args: dict[str, object] = {"flow_id": "f", "ani": "+17205551212", "dnis": "+17205551213"}
    args.update(kwargs)
    flow_id = args.pop("flow_id")
    with pytest.raises(InvalidInputError, match=problem):
        await ip.smartflows.trigger(flow_id, **args)  # type: ignore[arg-type]
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
    ],
)
async def test_trigger_documented_errors(
    mock: respx.MockRouter, ip: AsyncIntelePeer, status: int, error: type[Exception]
) -> None:
    mock.post(V4).mock(return_value=httpx.Response(status))
    with pytest.raises(error):
        await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213")


async def test_trigger_not_retried_after_read_timeout(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    route = mock.post(V4).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError) as info:
        await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213")
    assert route.call_count == 1
    assert info.value.may_have_been_processed


async def test_trigger_retried_when_never_sent(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    route = mock.post(V4).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(202)])
    assert (await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213")).accepted
    assert route.call_count == 2


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
async def test_a_variable_json_cannot_carry_is_a_typed_error(
    mock: respx.MockRouter, ip: AsyncIntelePeer, number: float
) -> None:
    """Issue 8 item 14: a raw ValueError for a NaN variable."""
    route = mock.post(V4).respond(202)
    with pytest.raises(InvalidInputError, match="'Total' must be a finite number"):
        await ip.smartflows.trigger(
            "f", ani="+17205551212", dnis="+17205551213", variables={"Total": number}
        )
    assert route.call_count == 0


async def test_the_flows_own_auth_token_replaces_the_accounts(mock: respx.MockRouter) -> None:
    """Issue 8 item 21: the Inbound API trigger's "Auth Token" (seed 001)."""
    login = mock.post(f"{BASE}/_rest/v4/authenticate").respond(200, json={"token": "account-token"})
    route = mock.post(LEGACY).respond(202, json=True)
    async with AsyncIntelePeer(username="ann", password="pw", base_url=BASE) as ip:
        await ip.smartflows.trigger(
            "f", ani="+17205551212", dnis="+17205551213", legacy=True, flow_token="flow-SECRET-1"
        )
    assert route.calls[0].request.headers["Authorization"] == "Bearer flow-SECRET-1"
    assert login.call_count == 0  # the account's credentials were not needed


async def test_the_flow_token_header_is_configurable(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.post(V4).respond(202, json=True)
    token = ia.FlowToken("flow-SECRET-2", header="X-Flow-Token", scheme=None)
    await ip.smartflows.trigger("f", ani="+17205551212", dnis="+17205551213", flow_token=token)
    headers = route.calls[0].request.headers
    assert headers["X-Flow-Token"] == "flow-SECRET-2"
    assert headers["Authorization"] == "Bearer tok"  # the account's, alongside
    assert "flow-SECRET-2" not in repr(token) and "flow-SECRET-2" not in str(token)
    for bad in ("", "with space", "newline\n"):
        with pytest.raises(InvalidInputError, match="flow token"):
            ia.FlowToken(bad)
    with pytest.raises(InvalidInputError, match="header"):
        ia.FlowToken("flow-token-3", header="Bad Header")
