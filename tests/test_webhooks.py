"""ip.sms.webhooks: single 201, bulk 207, chunking, URL checks, the encoded GET."""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import httpx
import pytest
import respx

import intelepeer_async as ia
from intelepeer_async import (
    AsyncIntelePeer,
    BadRequestError,
    IntelePeerError,
    InvalidInputError,
    NotFoundError,
    ProvisioningState,
)

from .conftest import BASE
from .helpers import fixture_json, seed_response, sent_json
from .loopback import Received, http_response, loopback_server

pytestmark = pytest.mark.anyio

HOOK = f"{BASE}/_rest/v4/my/did/sms/webhook"


async def test_set_one_number_parses_the_seed_201(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    route = mock.post(HOOK).mock(return_value=seed_response(201, "webhook_set_single_201.json"))
    result = await ip.sms.webhooks.set("+12161112222", "https://www.myserver.com/myapp")
    assert sent_json(route) == {
        "endpoints": ["+12161112222"],
        "webhook": "https://www.myserver.com/myapp",
    }
    assert result.number == "+12161112222"
    assert result.status == 201
    assert result.ok
    assert result.webhook == "https://www.myserver.com/myapp"
    assert result.state is ProvisioningState.PROVISIONED
    assert result.error is None


async def test_set_many_parses_the_seed_207(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.post(HOOK).mock(return_value=seed_response(207, "webhook_set_bulk_207.json"))
    results = await ip.sms.webhooks.set(
        ["+12161112222", "+12161112223"], "https://www.myserver.com/myapp"
    )
    assert route.call_count == 1
    assert [r.number for r in results] == ["+12161112222", "+12161112223"]
    assert all(r.ok and r.state is ProvisioningState.PROVISIONED for r in results)


async def test_a_failed_number_is_a_result(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    body = fixture_json("webhook_set_bulk_207.json")
    body["endpoints"][1] = {
        "status": 400,
        "endpoint": "+12161112223",
        "response": {"message": "The telephone number has not been enabled for SMS"},
    }
    mock.post(HOOK).mock(return_value=httpx.Response(207, json=body))
    ok, failed = await ip.sms.webhooks.set(["+12161112222", "+12161112223"], "https://x.test/h")
    assert ok.ok
    assert not failed.ok
    assert failed.status == 400
    assert failed.error == "The telephone number has not been enabled for SMS"


async def test_a_number_missing_from_the_answer_is_reported(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    body = fixture_json("webhook_set_bulk_207.json")
    del body["endpoints"][1]
    mock.post(HOOK).mock(return_value=httpx.Response(207, json=body))
    results = await ip.sms.webhooks.set(["+12161112222", "+12161112223"], "https://x.test/h")
    assert [(r.number, r.ok) for r in results] == [("+12161112222", True), ("+12161112223", False)]


async def test_long_lists_are_chunked_and_bounded(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    numbers = [f"+1303555{i:04d}" for i in range(250)]
    in_flight = 0
    peak = 0

    async def answer(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.01)
        in_flight -= 1
        sent = request.read()
        endpoints = json.loads(sent)["endpoints"]
        return httpx.Response(
            207,
            json={
                "code": 207,
                "endpoints": [
                    {"status": 201, "endpoint": n, "response": {"tnkey": n, "webhook": "w"}}
                    for n in endpoints
                ],
            },
        )

    route = mock.post(HOOK).mock(side_effect=answer)
    results = await ip.sms.webhooks.set(numbers, "https://x.test/h", chunk_size=10, concurrency=3)
    assert route.call_count == 25
    assert [len(sent_json(route, i)["endpoints"]) for i in range(25)] == [10] * 25
    assert peak == 3
    assert [r.number for r in results] == numbers  # input order, whatever finished first
    default = await ip.sms.webhooks.set(numbers, "https://x.test/h")
    assert route.call_count == 28  # 100 + 100 + 50
    assert len(default) == 250


async def test_a_failing_chunk_does_not_lose_the_others(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        endpoints = json.loads(request.read())["endpoints"]
        if "+13035550002" in endpoints:
            return httpx.Response(400, json={"message": "Improperly-formatted URL"})
        return httpx.Response(201, json={"code": 201, "tnkey": endpoints[0], "webhook": "w"})

    mock.post(HOOK).mock(side_effect=answer)
    numbers = ["+13035550001", "+13035550002", "+13035550003"]
    results = await ip.sms.webhooks.set(numbers, "https://x.test/h", chunk_size=1)
    assert [(r.number, r.status, r.error) for r in results] == [
        ("+13035550001", 201, None),
        ("+13035550002", 400, "Improperly-formatted URL"),
        ("+13035550003", 201, None),
    ]


async def test_single_number_failure_raises(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    mock.post(HOOK).mock(return_value=httpx.Response(404, json={"message": "not available"}))
    with pytest.raises(NotFoundError):
        await ip.sms.webhooks.set("+12161112222", "https://x.test/h")
    mock.post(HOOK).mock(return_value=httpx.Response(400, json={"message": "bad E.164"}))
    with pytest.raises(BadRequestError):
        await ip.sms.webhooks.set("+12161112222", "https://x.test/h")


async def test_set_is_idempotent_so_retried_after_timeout(
    mock: respx.MockRouter, ip: AsyncIntelePeer, no_sleep: list[float]
) -> None:
    route = mock.post(HOOK).mock(
        side_effect=[httpx.ReadTimeout("slow"), seed_response(201, "webhook_set_single_201.json")]
    )
    await ip.sms.webhooks.set("+12161112222", "https://x.test/h")
    assert route.call_count == 2


@pytest.mark.parametrize(
    "url",
    ["ftp://x.test/h", "https://", "x.test/h", "https://x.test:99999/h", "https://x .test/", 5],
)
async def test_bad_urls_are_rejected_before_sending(
    mock: respx.MockRouter, ip: AsyncIntelePeer, url: object
) -> None:
    route = mock.post(HOOK).mock(return_value=httpx.Response(201))
    with pytest.raises(InvalidInputError):
        await ip.sms.webhooks.set("+12161112222", url)  # type: ignore[call-overload]
    assert route.call_count == 0


async def test_bad_numbers_and_empty_lists(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    with pytest.raises(InvalidInputError, match=r"numbers\[1\]"):
        await ip.sms.webhooks.set(["+12161112222", "2161112223"], "https://x.test/h")
    with pytest.raises(InvalidInputError, match="empty"):
        await ip.sms.webhooks.set([], "https://x.test/h")


async def test_credentials_in_the_url_are_sent_but_never_logged(
    mock: respx.MockRouter, ip: AsyncIntelePeer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intelepeer_async")
    url = "https://hookuser:hook-PASS-secret@rx.example.com/sms"
    route = mock.post(HOOK).mock(return_value=seed_response(201, "webhook_set_single_201.json"))
    await ip.sms.webhooks.set("1-12345", url)
    assert sent_json(route)["webhook"] == url
    assert caplog.records
    assert "hook-PASS-secret" not in caplog.text


async def test_get_encodes_the_plus(mock: respx.MockRouter, ip: AsyncIntelePeer) -> None:
    route = mock.get(HOOK).mock(return_value=seed_response(200, "webhook_get_200.json"))
    config = await ip.sms.webhooks.get("+12161112222")
    assert route.calls[0].request.url.query == b"endpoint=%2B12161112222"
    assert config.number == "+12161112222"
    assert config.webhook == "https://www.yourcompany.com/sms/webhook"
    assert config.state is ProvisioningState.PROVISIONED


async def test_get_unknown_state_is_kept_lenient(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    mock.get(HOOK).mock(
        return_value=httpx.Response(
            200, json={"code": 200, "tnkey": "+1216", "provisioning": {"state": "paused"}}
        )
    )
    config = await ip.sms.webhooks.get("+12161112222")
    assert config.state is ProvisioningState.UNKNOWN
    assert config.webhook is None


@pytest.mark.parametrize(("status", "error"), [(400, BadRequestError), (404, NotFoundError)])
async def test_get_documented_errors(
    mock: respx.MockRouter, ip: AsyncIntelePeer, status: int, error: type[Exception]
) -> None:
    mock.get(HOOK).mock(return_value=httpx.Response(status, json={"message": "documented"}))
    with pytest.raises(error, match="documented"):
        await ip.sms.webhooks.get("+12161112222")


def entry(number: str, status: int = 201, hook: str = "https://x.test/h") -> dict[str, Any]:
    return {"status": status, "endpoint": number, "response": {"tnkey": number, "webhook": hook}}


NUMBERS = ["+12161110001", "+12161110002", "+12161110003"]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        # answered in reverse order: matched by number, reported in input order
        (
            [entry(NUMBERS[2], 400), entry(NUMBERS[1]), entry(NUMBERS[0])],
            [201, 201, 400],
        ),
        # numbers echoed without "+"
        ([entry(n.lstrip("+")) for n in NUMBERS], [201, 201, 201]),
        # one number not answered, one answer for a number not asked about
        ([entry(NUMBERS[0]), entry("+19999999999"), entry(NUMBERS[2])], [201, None, 201]),
        # entries that name no number fall back to their position
        ([{"status": 201}, {"status": 404}, {"status": 201}], [201, 404, 201]),
    ],
)
async def test_bulk_results_are_one_per_number_in_input_order(
    mock: respx.MockRouter, ip: AsyncIntelePeer, entries: list[Any], expected: list[int | None]
) -> None:
    """Issue 8 item 18: "6 results for 3 numbers", reversed answers reversed."""
    mock.post(HOOK).respond(207, json={"code": 207, "endpoints": entries})
    results = await ip.sms.webhooks.set(NUMBERS, "https://x.test/h")
    assert len(results) == len(NUMBERS)
    assert [r.number for r in results] == NUMBERS
    assert [r.status for r in results] == expected
    missing = [r for r in results if r.status is None]
    assert all(r.error == "no result for this number in the response" for r in missing)


async def test_a_chunk_that_fails_in_any_way_never_loses_the_others() -> None:
    """Issue 8 item 14: an ExceptionGroup escaped and dropped the applied chunks."""
    broken = {"Content-Encoding": "gzip", "Content-Type": "application/json"}

    async def answer(request: Received) -> bytes:
        numbers = json.loads(request.body)["endpoints"]
        if numbers == ["+13035550002"]:
            return http_response(201, b"not gzip at all", broken)
        body = {"code": 201, "tnkey": numbers[0], "webhook": "https://x.test/h"}
        return http_response(201, json.dumps(body).encode())

    numbers = ["+13035550001", "+13035550002", "+13035550003"]
    async with (
        loopback_server(answer) as (base, received),
        AsyncIntelePeer(token="ready-token", base_url=base) as ip,
    ):
        results = await ip.sms.webhooks.set(numbers, "https://x.test/h", chunk_size=1)
    assert len(received) == 3
    assert [(r.number, r.ok) for r in results] == [
        ("+13035550001", True),
        ("+13035550002", False),
        ("+13035550003", True),
    ]
    assert results[1].error is not None and "gzip" in results[1].error


async def test_a_chunk_whose_login_fails_is_a_failed_result(mock: respx.MockRouter) -> None:
    mock.post(f"{BASE}/_rest/v4/authenticate").respond(200, text="<html>proxy</html>")
    route = mock.post(HOOK).respond(201, json={})
    async with AsyncIntelePeer(username="ann", password="pw", base_url=BASE) as ip:
        results = await ip.sms.webhooks.set(NUMBERS, "https://x.test/h", chunk_size=2)
    assert route.call_count == 0
    assert [r.status for r in results] == [None, None, None]
    assert all(r.error and "never sent" in r.error for r in results)


async def test_get_refuses_an_unreadable_answer(
    mock: respx.MockRouter, ip: AsyncIntelePeer
) -> None:
    mock.get(HOOK).respond(200, text="<html>Proxy login</html>")
    with pytest.raises(IntelePeerError) as info:
        await ip.sms.webhooks.get("+12161112222")
    assert isinstance(info.value, ia.APIResponseValidationError)
