"""yay.callflows: exact requests, the envelope, and the seed's "Call Pete" flow."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    APITimeoutError,
    AsyncYay,
    BadRequestError,
    CallFlow,
    IntelePeerError,
    InvalidInputError,
    NotFoundError,
)
from intelepeer_async.models.callflows import (
    ExtensionModule,
    PressExtensionModule,
    StartModule,
    UnknownModule,
)

from .conftest import BASE
from .helpers import fixture_json, seed_response, sent_json

pytestmark = pytest.mark.anyio

FLOW = f"{BASE}/voip/flow"
PETE = "31347d42-00bd-44a5-9b5c-20dc4197a2f6"


def check_pete(flow: CallFlow) -> None:
    assert flow.name == "Call Pete"
    assert flow.extension == 501
    assert flow.uuid == PETE
    assert flow.show_call_route_name is True
    start = flow.flow["161ec941-1c6a-4d42-b011-1c050487324d"]
    assert isinstance(start, StartModule)
    assert start.next == "9085aa47-0ff0-4fd0-9c80-6077e1f475c2"
    menu = flow.flow["9085aa47-0ff0-4fd0-9c80-6077e1f475c2"]
    assert isinstance(menu, PressExtensionModule)
    assert menu.next["timeout"] == "fdc20592-2757-4a9a-a1d3-3c4e7b6a39d6"
    ring = flow.flow["fdc20592-2757-4a9a-a1d3-3c4e7b6a39d6"]
    assert isinstance(ring, ExtensionModule)
    assert ring.extensions[0].type == "sipuser"
    assert ring.extensions[0].uuid == "92b0aca6-12aa-480c-a7b7-a31df403418c"


async def test_list(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.get(FLOW).mock(return_value=seed_response(200, "callflow_list_200.json"))
    flows = await yay.callflows.list()
    headers = route.calls[0].request.headers
    assert headers["X-Auth-Reseller"] == "r1"
    assert headers["X-Auth-Password"] == "p1"
    assert len(flows) == 1
    check_pete(flows[0])
    assert flows[0].created_on == "2023-06-07"


async def test_get(mock: respx.MockRouter, yay: AsyncYay) -> None:
    mock.get(f"{FLOW}/{PETE}").mock(return_value=seed_response(200, "callflow_get_200.json"))
    check_pete(await yay.callflows.get(PETE))


async def test_get_404(mock: respx.MockRouter, yay: AsyncYay) -> None:
    mock.get(f"{FLOW}/nope").mock(return_value=seed_response(404, "callflow_404.json"))
    with pytest.raises(NotFoundError) as info:
        await yay.callflows.get("nope")
    assert info.value.message == "Not Found"


async def test_create_from_the_seed_dict(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.post(FLOW).mock(return_value=seed_response(201, "callflow_create_201.json"))
    body = fixture_json("callflow_create_body.json")
    created = await yay.callflows.create(body)
    assert sent_json(route) == body  # the seed's request, exactly
    check_pete(created)


async def test_create_from_a_model(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.post(FLOW).mock(return_value=seed_response(201, "callflow_create_201.json"))
    flow = CallFlow.model_validate(fixture_json("callflow_get_200.json")["result"])
    await yay.callflows.create(flow)
    assert sent_json(route) == fixture_json("callflow_create_body.json")  # no uuid/dates sent


async def test_create_is_not_resent_after_a_timeout(
    mock: respx.MockRouter, yay: AsyncYay, no_sleep: list[float]
) -> None:
    route = mock.post(FLOW).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(APITimeoutError, match="may have been processed"):
        await yay.callflows.create(fixture_json("callflow_create_body.json"))
    assert route.call_count == 1


async def test_create_400(mock: respx.MockRouter, yay: AsyncYay) -> None:
    mock.post(FLOW).mock(return_value=seed_response(400, "callflow_400.json"))
    with pytest.raises(BadRequestError, match="Bad Request"):
        await yay.callflows.create(fixture_json("callflow_create_body.json"))


async def test_invalid_flow_is_never_sent(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.post(FLOW).mock(return_value=httpx.Response(201))
    body = fixture_json("callflow_create_body.json")
    del body["flow"]["161ec941-1c6a-4d42-b011-1c050487324d"]  # no start
    body["flow"]["9085aa47-0ff0-4fd0-9c80-6077e1f475c2"]["next"]["3"] = "missing-key"
    with pytest.raises(InvalidInputError) as info:
        await yay.callflows.create(body)
    assert len(info.value.problems) == 2
    assert route.call_count == 0
    with pytest.raises(InvalidInputError, match="extension"):
        await yay.callflows.create({"name": "x", "extension": "not a number", "flow": {}})
    with pytest.raises(InvalidInputError):
        await yay.callflows.create(["not", "a", "flow"])  # type: ignore[arg-type]


async def test_update(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.put(f"{FLOW}/{PETE}").mock(
        return_value=seed_response(200, "callflow_update_200.json")
    )
    updated = await yay.callflows.update(PETE, fixture_json("callflow_create_body.json"))
    assert sent_json(route) == fixture_json("callflow_create_body.json")
    check_pete(updated)
    mock.put(f"{FLOW}/gone").mock(return_value=seed_response(404, "callflow_404.json"))
    with pytest.raises(NotFoundError):
        await yay.callflows.update("gone", fixture_json("callflow_create_body.json"))


async def test_delete(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.delete(f"{FLOW}/{PETE}").mock(
        return_value=seed_response(200, "callflow_delete_204.json")
    )
    await yay.callflows.delete(PETE)
    assert route.call_count == 1
    mock.delete(f"{FLOW}/gone").mock(return_value=seed_response(404, "callflow_404.json"))
    with pytest.raises(NotFoundError):
        await yay.callflows.delete("gone")
    with pytest.raises(InvalidInputError):
        await yay.callflows.delete("")


@pytest.mark.parametrize(
    ("result", "expected"),
    [({}, None), (502, 502), ("503", 503), ({"extension": 504}, 504), (None, None)],
)
async def test_next_extension(
    mock: respx.MockRouter, yay: AsyncYay, result: object, expected: int | None
) -> None:
    mock.get(f"{BASE}/voip/next-extension/flow").mock(
        return_value=httpx.Response(
            200, json={"result": result, "status_code": 200, "status_message": "OK"}
        )
    )
    assert await yay.callflows.next_extension() == expected


async def test_next_extension_seed_examples(mock: respx.MockRouter, yay: AsyncYay) -> None:
    route = mock.get(f"{BASE}/voip/next-extension/flow")
    route.mock(return_value=seed_response(200, "callflow_next_extension_200.json"))
    assert await yay.callflows.next_extension() is None
    route.mock(return_value=seed_response(400, "callflow_400.json"))
    with pytest.raises(BadRequestError):
        await yay.callflows.next_extension()


async def test_unknown_module_round_trips_untouched(mock: respx.MockRouter, yay: AsyncYay) -> None:
    body = fixture_json("callflow_get_200.json")
    odd = {"module": "sms_notify", "to": "+441234", "nested": {"a": [1, None]}, "flag": None}
    body["result"]["flow"]["fdc20592-2757-4a9a-a1d3-3c4e7b6a39d6"]["noanswer"] = "odd"
    body["result"]["flow"]["odd"] = odd
    mock.get(f"{FLOW}/{PETE}").mock(return_value=httpx.Response(200, json=body))
    put = mock.put(f"{FLOW}/{PETE}").mock(return_value=httpx.Response(200, json=body))
    flow = await yay.callflows.get(PETE)
    assert isinstance(flow.flow["odd"], UnknownModule)
    await yay.callflows.update(PETE, flow)
    assert sent_json(put)["flow"]["odd"] == odd


def pete_with(**changes: Any) -> dict[str, Any]:
    """The seed's "Call Pete" flow (as listed) with some modules replaced."""
    flow: dict[str, Any] = fixture_json("callflow_get_200.json")["result"]
    flow["flow"].update(changes)
    return flow


ODD_SHAPES: dict[str, dict[str, Any]] = {
    "empty flow as []": {"flow": []},
    "IVR next as []": {
        "9085aa47-0ff0-4fd0-9c80-6077e1f475c2": {"module": "pressextension", "next": []}
    },
    "duration 30s": {
        "fdc20592-2757-4a9a-a1d3-3c4e7b6a39d6": {
            "module": "extension",
            "extensions": [{"type": "sipuser", "uuid": "u"}],
            "duration": "30s",
        }
    },
    "target without type": {
        "fdc20592-2757-4a9a-a1d3-3c4e7b6a39d6": {
            "module": "extension",
            "extensions": [{"uuid": "u"}],
        }
    },
    "null IVR target": {
        "9085aa47-0ff0-4fd0-9c80-6077e1f475c2": {"module": "pressextension", "next": {"1": None}}
    },
    "module of the wrong shape": {
        "fdc20592-2757-4a9a-a1d3-3c4e7b6a39d6": {"module": "play", "sound": {"odd": True}}
    },
}


def odd_flow(name: str) -> dict[str, Any]:
    changes = ODD_SHAPES[name]
    if "flow" in changes:
        return {**pete_with(), "flow": changes["flow"]}
    return pete_with(**changes)


@pytest.mark.parametrize("name", list(ODD_SHAPES))
async def test_odd_shapes_from_the_server_are_read(
    mock: respx.MockRouter, yay: AsyncYay, name: str
) -> None:
    """Issue 8 item 14: no raw ValidationError from list() or get()."""
    body = {"result": odd_flow(name), "status_code": 200, "status_message": "OK"}
    mock.get(f"{FLOW}/{PETE}").respond(200, json=body)
    mock.get(FLOW).respond(200, json={**body, "result": [odd_flow(name)]})
    flow = await yay.callflows.get(PETE)
    listed = await yay.callflows.list()
    assert flow.uuid == PETE and [f.uuid for f in listed] == [PETE]
    assert flow.raw == body
    # What was read is sent back as it came: nothing dropped on the round trip.
    assert flow.to_wire()["flow"] == CallFlow.model_validate(odd_flow(name)).to_wire()["flow"]


async def test_one_unreadable_flow_never_fails_list(
    mock: respx.MockRouter, yay: AsyncYay, caplog: pytest.LogCaptureFixture
) -> None:
    broken = {**pete_with(), "uuid": "broken-1", "extension": "not a number"}
    body = {"result": [pete_with(), broken, "not even an object"], "status_code": 200}
    mock.get(FLOW).respond(200, json=body)
    flows = await yay.callflows.list()
    assert [f.uuid for f in flows] == [PETE]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("broken-1" in w for w in warnings)
    assert any("#2" in w for w in warnings)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Proxy login</html>"),
        httpx.Response(200, json={"result": "nope", "status_code": 200}),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={"result": ["x"], "status_code": 200}),
    ],
)
async def test_an_unreadable_list_is_an_error_not_empty(
    mock: respx.MockRouter, yay: AsyncYay, answer: httpx.Response
) -> None:
    """Issue 8 item 16: an HTML page from a proxy gave ``list() -> []``."""
    mock.get(FLOW).mock(return_value=answer)
    with pytest.raises(IntelePeerError) as info:
        await yay.callflows.list()
    assert isinstance(info.value, ia.APIResponseValidationError)
    assert info.value.status_code == 200


async def test_an_empty_list_from_php_is_empty(mock: respx.MockRouter, yay: AsyncYay) -> None:
    mock.get(FLOW).respond(200, json={"result": {}, "status_code": 200})
    assert await yay.callflows.list() == []


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>Proxy login</html>"),
        httpx.Response(200, json={"result": {}, "status_code": 200}),
    ],
)
async def test_get_and_next_extension_refuse_unreadable_answers(
    mock: respx.MockRouter, yay: AsyncYay, answer: httpx.Response
) -> None:
    mock.get(f"{FLOW}/{PETE}").mock(return_value=answer)
    with pytest.raises(IntelePeerError) as info:
        await yay.callflows.get(PETE)
    assert isinstance(info.value, ia.APIResponseValidationError)
    mock.get(f"{BASE}/voip/next-extension/flow").respond(200, text="<html>Proxy</html>")
    with pytest.raises(IntelePeerError) as info:
        await yay.callflows.next_extension()
    assert isinstance(info.value, ia.APIResponseValidationError)


async def test_a_billed_create_never_loses_the_uuid(mock: respx.MockRouter, yay: AsyncYay) -> None:
    """Issue 8 item 15: 201 with an unexpected ``result`` raised and lost the uuid."""
    answer = {"result": {"uuid": "new-flow-uuid", "flow": "unexpected"}, "status_code": 201}
    route = mock.post(FLOW).respond(201, json=answer)
    created = await yay.callflows.create(fixture_json("callflow_create_body.json"))
    assert route.call_count == 1
    assert created.uuid == "new-flow-uuid"
    assert created.name == "Call Pete"  # as sent
    assert created.raw == answer


@pytest.mark.parametrize(
    "result",
    [{"uuid": "new-flow-uuid"}, {"uuid": "new-flow-uuid", "name": "Call Pete"}],
)
async def test_a_create_answered_with_its_uuid_alone_returns_the_flow_as_sent(
    mock: respx.MockRouter, yay: AsyncYay, result: dict[str, str]
) -> None:
    """Review finding 11: ``{"result": {"uuid": ...}}`` read as an empty flow."""
    answer = {"result": result, "status_code": 201}
    mock.post(FLOW).respond(201, json=answer)
    sent = fixture_json("callflow_create_body.json")
    created = await yay.callflows.create(sent)
    assert created.uuid == "new-flow-uuid"
    assert created.name == "Call Pete"
    assert created.to_wire()["flow"] == sent["flow"]  # as sent, not empty
    assert created.raw == answer


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, json={"result": [], "status_code": 201}),
        httpx.Response(201, json={"result": {}, "status_code": 201}),
        httpx.Response(201, text="<html>Created</html>"),
    ],
)
async def test_a_create_without_a_uuid_says_it_succeeded(
    mock: respx.MockRouter, yay: AsyncYay, answer: httpx.Response
) -> None:
    route = mock.post(FLOW).mock(return_value=answer)
    with pytest.raises(IntelePeerError) as info:
        await yay.callflows.create(fixture_json("callflow_create_body.json"))
    assert route.call_count == 1
    assert isinstance(info.value, ia.APIResponseValidationError)
    assert info.value.succeeded
    assert "was created" in str(info.value)


async def test_an_update_with_an_odd_answer_returns_the_flow_as_sent(
    mock: respx.MockRouter, yay: AsyncYay
) -> None:
    mock.put(f"{FLOW}/{PETE}").respond(200, json={"result": True, "status_code": 200})
    updated = await yay.callflows.update(PETE, fixture_json("callflow_create_body.json"))
    assert updated.uuid == PETE and updated.name == "Call Pete"
    assert updated.raw == {"result": True, "status_code": 200}


async def test_a_retried_delete_that_finds_nothing_succeeded(
    mock: respx.MockRouter, yay: AsyncYay, no_sleep: list[float]
) -> None:
    """Issue 8 item 8: the first attempt deleted it, its answer was lost."""
    route = mock.delete(f"{FLOW}/{PETE}").mock(
        side_effect=[httpx.ReadTimeout("lost"), seed_response(404, "callflow_404.json")]
    )
    await yay.callflows.delete(PETE)  # no NotFoundError
    assert route.call_count == 2


async def test_an_envelope_busy_status_is_retried_like_the_http_one(
    mock: respx.MockRouter, yay: AsyncYay, no_sleep: list[float]
) -> None:
    """Issue 8 item 17: ``status_code`` 503/429 inside a 200 skipped the retry policy."""
    busy = {"result": {}, "status_code": 503, "status_message": "Service Unavailable"}
    slow_down = {"result": {}, "status_code": 429, "status_message": "Too Many Requests"}
    route = mock.get(FLOW).mock(
        side_effect=[
            httpx.Response(200, json=busy),
            httpx.Response(200, json=slow_down),
            seed_response(200, "callflow_list_200.json"),
        ]
    )
    assert [f.uuid for f in await yay.callflows.list()] == [PETE]
    assert route.call_count == 3
    create = mock.post(FLOW).mock(
        side_effect=[httpx.Response(200, json=busy), seed_response(201, "callflow_create_201.json")]
    )
    await yay.callflows.create(fixture_json("callflow_create_body.json"))
    assert create.call_count == 2  # refused before processing: safe even for a billed create
