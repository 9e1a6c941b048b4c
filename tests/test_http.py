"""The request loop: every retry branch, with the exact number of requests sent."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
import respx

from intelepeer_async import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    InternalServerError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    Timeout,
)
from intelepeer_async._http import HTTPCore
from intelepeer_async._retry import RetryPolicy

from .loopback import Received, http_response, loopback_server

pytestmark = pytest.mark.anyio

URL = "https://api.test/_rest/v4/thing"


def core(max_retries: int = 2, total: float = 30.0) -> HTTPCore:
    return HTTPCore(
        timeout=Timeout(total=total, connect=min(5.0, total)),
        policy=RetryPolicy(max_retries=max_retries),
    )


ERRORS: dict[str, Any] = {
    "connect": httpx.ConnectError("refused"),
    "connect_timeout": httpx.ConnectTimeout("slow connect"),
    "read_timeout": httpx.ReadTimeout("slow read"),
    "remote_protocol": httpx.RemoteProtocolError("server hung up"),
}

# (method, failure, requests sent with max_retries=2, exception raised)
TRANSPORT_CASES = [
    ("GET", "connect", 3, APIConnectionError),
    ("GET", "connect_timeout", 3, APITimeoutError),
    ("GET", "read_timeout", 3, APITimeoutError),
    ("GET", "remote_protocol", 3, APIConnectionError),
    ("POST", "connect", 3, APIConnectionError),
    ("POST", "connect_timeout", 3, APITimeoutError),
    ("POST", "read_timeout", 1, APITimeoutError),
    ("POST", "remote_protocol", 1, APIConnectionError),
]


@pytest.mark.parametrize(("method", "failure", "sent", "raised"), TRANSPORT_CASES)
async def test_transport_failures(
    mock: respx.MockRouter,
    no_sleep: list[float],
    method: str,
    failure: str,
    sent: int,
    raised: type[Exception],
) -> None:
    route = mock.route(method=method, url=URL).mock(side_effect=ERRORS[failure])
    c = core()
    with pytest.raises(raised) as info:
        await c.request(method, URL)
    assert route.call_count == sent
    assert len(no_sleep) == sent - 1
    await c.aclose()
    err = info.value
    assert isinstance(err, APIConnectionError)
    if method == "POST" and failure in ("read_timeout", "remote_protocol"):
        assert err.may_have_been_processed
        assert "may have been processed" in str(err)
    if failure in ("connect", "connect_timeout"):
        assert not err.may_have_been_processed


# (method, status, requests sent, exception)
STATUS_CASES = [
    ("GET", 408, 3, None),
    ("GET", 429, 3, RateLimitError),
    ("GET", 500, 3, InternalServerError),
    ("GET", 502, 3, InternalServerError),
    ("GET", 503, 3, InternalServerError),
    ("GET", 504, 3, InternalServerError),
    ("PUT", 500, 3, InternalServerError),
    ("DELETE", 503, 3, InternalServerError),
    ("POST", 408, 1, None),
    ("POST", 429, 3, RateLimitError),
    ("POST", 500, 1, InternalServerError),
    ("POST", 502, 1, InternalServerError),
    ("POST", 503, 3, InternalServerError),
    ("POST", 504, 1, InternalServerError),
    ("PATCH", 500, 1, InternalServerError),
]


@pytest.mark.parametrize(("method", "status", "sent", "raised"), STATUS_CASES)
async def test_status_retries(
    mock: respx.MockRouter,
    no_sleep: list[float],
    method: str,
    status: int,
    sent: int,
    raised: type[Exception] | None,
) -> None:
    route = mock.route(method=method, url=URL).mock(
        return_value=httpx.Response(status, json={"message": "nope"})
    )
    c = core()
    with pytest.raises(raised or Exception) as info:
        await c.request(method, URL)
    assert route.call_count == sent
    assert getattr(info.value, "status_code", None) == status


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_success_after_transient_failures(
    mock: respx.MockRouter, no_sleep: list[float], method: str
) -> None:
    route = mock.route(method=method, url=URL).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            httpx.Response(503),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    response = await core().request(method, URL)
    assert response.data == {"ok": True}
    assert route.call_count == 3
    assert len(no_sleep) == 2


async def test_retry_after_seconds_is_honoured(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    route = mock.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}),
            httpx.Response(202, json=True),
        ]
    )
    response = await core().request("POST", URL)
    assert response.status_code == 202
    assert response.data is True
    assert route.call_count == 2
    assert no_sleep == [7.0]


async def test_retry_after_is_capped(mock: respx.MockRouter, no_sleep: list[float]) -> None:
    mock.get(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "100000"}),
            httpx.Response(200, json={}),
        ]
    )
    await core(total=3600).request("GET", URL)
    assert no_sleep == [60.0]


async def test_429_without_retry_after_uses_backoff(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    mock.get(URL).mock(side_effect=[httpx.Response(429), httpx.Response(429), httpx.Response(200)])
    await core().request("GET", URL)
    assert len(no_sleep) == 2
    assert 0.375 <= no_sleep[0] <= 0.5
    assert 0.75 <= no_sleep[1] <= 1.0


async def test_retry_that_would_overrun_the_budget_is_not_made(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    route = mock.get(URL).mock(return_value=httpx.Response(503, headers={"Retry-After": "20"}))
    with pytest.raises(InternalServerError):
        await core(total=10).request("GET", URL)
    assert route.call_count == 1
    assert no_sleep == []


async def test_max_retries_zero_sends_once(mock: respx.MockRouter, no_sleep: list[float]) -> None:
    route = mock.get(URL).mock(return_value=httpx.Response(500))
    with pytest.raises(InternalServerError):
        await core(max_retries=0).request("GET", URL)
    assert route.call_count == 1


async def test_explicitly_idempotent_post_retries_after_read_timeout(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    route = mock.post(URL).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(201)])
    await core().request("POST", URL, idempotent=True)
    assert route.call_count == 2


async def test_total_budget_bounds_a_hanging_server(mock: respx.MockRouter) -> None:
    arrived: list[httpx.Request] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        arrived.append(request)
        await anyio.sleep(5)
        return httpx.Response(200)

    mock.post(URL).mock(side_effect=hang)
    mock.get(URL).mock(return_value=httpx.Response(200))
    short = core(total=0.2)
    # Warm first: the first request builds a TLS context, which on a loaded machine
    # can take most of a 0.2 s budget, and then the POST would never be sent.
    await short.request("GET", URL)
    started = anyio.current_time()
    with pytest.raises(APITimeoutError) as info:
        await short.request("POST", URL)
    assert anyio.current_time() - started < 2.0
    assert len(arrived) == 1
    assert info.value.may_have_been_processed
    assert "may have been processed" in str(info.value)


async def test_non_json_and_empty_bodies(mock: respx.MockRouter) -> None:
    mock.get(URL + "/text").mock(return_value=httpx.Response(200, text="plain"))
    mock.get(URL + "/empty").mock(return_value=httpx.Response(204))
    c = core()
    assert (await c.request("GET", URL + "/text")).data == "plain"
    assert (await c.request("GET", URL + "/empty")).data is None


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_429_with_retry_after_for_each_method(
    mock: respx.MockRouter, no_sleep: list[float], method: str
) -> None:
    route = mock.route(method=method, url=URL).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "2"})
    )
    with pytest.raises(RateLimitError):
        await core().request(method, URL)
    assert route.call_count == 3
    assert no_sleep == [2.0, 2.0]


# -- DELETE that already happened (issue 8 item 8) ------------------------------


@pytest.mark.parametrize(
    ("first", "gone"),
    [
        (httpx.ReadTimeout("lost answer"), True),
        (httpx.Response(500), True),
        (httpx.Response(502), True),
        (httpx.ConnectError("refused"), False),  # never sent: the 404 is the truth
        (httpx.Response(503), False),  # refused before processing
        (httpx.Response(429), False),
    ],
)
async def test_a_retried_delete_that_finds_nothing_was_deleted(
    mock: respx.MockRouter, no_sleep: list[float], first: Any, gone: bool
) -> None:
    mock.delete(URL).mock(side_effect=[first, httpx.Response(404, json={"message": "gone"})])
    c = core()
    if gone:
        response = await c.request("DELETE", URL)
        assert response.gone_after_retry
        assert response.status_code == 404
    else:
        with pytest.raises(NotFoundError):
            await c.request("DELETE", URL)


@pytest.mark.parametrize(
    "first", [httpx.ReadTimeout("slow"), httpx.Response(500)], ids=["read timeout", "500"]
)
async def test_may_have_been_processed_covers_every_attempt(
    mock: respx.MockRouter, no_sleep: list[float], first: Any
) -> None:
    """Review finding 2: an attempt that may have acted, then retries that never left."""
    refused = httpx.ConnectError("refused")
    route = mock.put(URL).mock(side_effect=[first, refused, refused])
    with pytest.raises(APIConnectionError) as info:
        await core().request("PUT", URL, json_body={"x": 1})
    assert route.call_count == 3
    assert info.value.may_have_been_processed is True
    assert "an earlier attempt may have been processed" in str(info.value)


async def test_a_first_404_on_delete_is_not_found(mock: respx.MockRouter) -> None:
    mock.delete(URL).respond(404, json={"message": "no such thing"})
    with pytest.raises(NotFoundError):
        await core().request("DELETE", URL)


# -- Yay's envelope is part of the answer (issue 8 item 17) ---------------------


def envelope(code: int) -> httpx.Response:
    return httpx.Response(200, json={"result": {}, "status_code": code, "status_message": "busy"})


@pytest.mark.parametrize("code", [429, 503])
async def test_an_envelope_error_gets_the_retry_policy_of_its_status(
    mock: respx.MockRouter, no_sleep: list[float], code: int
) -> None:
    route = mock.get(URL).mock(return_value=envelope(code))
    with pytest.raises(RateLimitError if code == 429 else InternalServerError) as info:
        await core().request("GET", URL, envelope=True)
    assert route.call_count == 3
    assert info.value.status_code == code
    post = mock.post(URL).mock(
        side_effect=[envelope(code), envelope(code), httpx.Response(201, json={"result": {}})]
    )
    response = await core().request("POST", URL, envelope=True)  # refused before processing
    assert response.status_code == 201
    assert post.call_count == 3


async def test_an_envelope_500_on_a_post_is_not_retried(
    mock: respx.MockRouter, no_sleep: list[float]
) -> None:
    route = mock.post(URL).mock(return_value=envelope(500))
    with pytest.raises(InternalServerError):
        await core().request("POST", URL, envelope=True)
    assert route.call_count == 1


async def test_without_envelope_a_status_code_field_is_just_data(mock: respx.MockRouter) -> None:
    mock.get(URL).mock(return_value=envelope(503))
    response = await core().request("GET", URL)
    assert response.data["status_code"] == 503


# -- bodies that cannot be read (issue 8 items 14 and 16) -----------------------


async def test_a_broken_gzip_body_is_no_data_and_says_why() -> None:
    """The core never raises for a 2xx's body (review finding 5: a billed call took
    effect); the resource that needs the body raises `response.unreadable`, which
    says why there is none."""
    broken = {"Content-Encoding": "gzip", "Content-Type": "application/json"}

    async def answer(request: Received) -> bytes:
        status = 500 if request.target == "/fails" else 200
        return http_response(status, b"this is not gzip", broken)

    async with loopback_server(answer) as (base, _):
        c = core(max_retries=0)
        response = await c.request("GET", f"{base}/ok")
        with pytest.raises(InternalServerError):
            await c.request("GET", f"{base}/fails")
        await c.aclose()
    assert (response.status_code, response.data) == (200, None)
    assert response.body_error is not None and "gzip" in response.body_error
    error = response.unreadable("the record is not a JSON object")
    assert isinstance(error, APIResponseValidationError)
    assert (error.status_code, error.succeeded) == (200, True)
    assert "gzip" in str(error)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_body_nested_too_deeply_to_parse_is_text(
    mock: respx.MockRouter, method: str
) -> None:
    """Review finding 4: ``json.loads`` raises RecursionError, not ValueError."""
    deep = b"[" * 100_000 + b"]" * 100_000
    mock.route(method=method, url=URL).respond(200, content=deep)
    response = await core().request(method, URL)
    assert response.data == deep.decode()


async def test_a_nan_in_a_body_is_refused_before_sending(mock: respx.MockRouter) -> None:
    route = mock.post(URL).respond(200)
    with pytest.raises(InvalidInputError, match="NaN"):
        await core().request("POST", URL, json_body={"x": float("nan")})
    assert route.call_count == 0


async def test_the_query_string_is_built_by_the_core(mock: respx.MockRouter) -> None:
    route = mock.get(url__startswith=URL).respond(200, json={})
    await core().request("GET", URL, params={"endpoint": "+12161112222", "a": "b c&d"})
    assert route.calls[0].request.url.query == b"endpoint=%2B12161112222&a=b%20c%26d"
