"""Error mapping: every body shape in the spec gives the vendor's own message."""

from __future__ import annotations

import httpx
import pytest
import respx

from intelepeer_async import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    IntelePeerError,
    InternalServerError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Timeout,
    UnprocessableEntityError,
)
from intelepeer_async._http import HTTPCore
from intelepeer_async._retry import RetryPolicy
from intelepeer_async.errors import APIConnectionError, APITimeoutError, status_error

pytestmark = pytest.mark.anyio

URL = "https://api.test/x"

# (status, body as sent, expected .message, expected .request_id)
BODY_SHAPES: list[tuple[int, object, str, str | None]] = [
    (401, {"code": 401, "error": "Unauthorized"}, "Unauthorized", None),
    (
        400,
        {"message": "MSDS Consistency GUID already exists", "status": 400},
        "MSDS Consistency GUID already exists",
        None,
    ),
    (
        400,
        {"status": "error", "message": "Phone number is not registered with SmartCommunicator"},
        "Phone number is not registered with SmartCommunicator",
        None,
    ),
    (401, {"detail": "unauthorized"}, "unauthorized", None),
    (401, {"error": "token has expired"}, "token has expired", None),
    (
        404,
        {
            "requestId": "27a1a46d-384f-4f15-b89e-c24697d90163",
            "message": "No Records found for any of the parameters provided",
        },
        "No Records found for any of the parameters provided",
        "27a1a46d-384f-4f15-b89e-c24697d90163",
    ),
    (404, {"result": {}, "status_code": 404, "status_message": "Not Found"}, "Not Found", None),
]


@pytest.mark.parametrize(("status", "body", "message", "request_id"), BODY_SHAPES)
async def test_every_spec_body_shape(
    status: int, body: object, message: str, request_id: str | None
) -> None:
    c = HTTPCore(timeout=Timeout(), policy=RetryPolicy(max_retries=0))
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(status, json=body))
        with pytest.raises(APIStatusError) as info:
            await c.request("GET", URL)
    err = info.value
    assert err.status_code == status
    assert err.message == message
    assert err.body == body
    assert err.request_id == request_id
    assert err.response is not None
    assert err.response.status_code == status
    assert message in str(err)


async def test_non_json_body_and_request_id_header() -> None:
    c = HTTPCore(timeout=Timeout(), policy=RetryPolicy(max_retries=0))
    with respx.mock:
        respx.get(URL).mock(
            return_value=httpx.Response(
                502, text="<html>Bad gateway</html>", headers={"X-Request-Id": "req-9"}
            )
        )
        with pytest.raises(InternalServerError) as info:
            await c.request("GET", URL)
    assert info.value.message == "<html>Bad gateway</html>"
    assert info.value.request_id == "req-9"


async def test_empty_body_falls_back_to_reason_phrase() -> None:
    c = HTTPCore(timeout=Timeout(), policy=RetryPolicy(max_retries=0))
    with respx.mock:
        respx.get(URL).mock(return_value=httpx.Response(403))
        with pytest.raises(PermissionDeniedError) as info:
            await c.request("GET", URL)
    assert info.value.message == "Forbidden"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_to_class(status: int, cls: type[APIStatusError]) -> None:
    err = status_error(status, None)
    assert type(err) is cls
    assert isinstance(err, IntelePeerError)


def test_hierarchy() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, IntelePeerError)
    assert issubclass(InvalidInputError, ValueError)
    assert issubclass(InvalidInputError, IntelePeerError)


def test_long_text_body_is_truncated() -> None:
    err = status_error(500, "x" * 2000)
    assert len(err.message) == 503
    assert err.body == "x" * 2000


def test_nested_error_objects() -> None:
    assert status_error(400, {"error": {"message": "deep"}}).message == "deep"
    assert status_error(422, {"detail": [{"msg": "a"}, "b"]}).message == "a; b"
    assert status_error(400, {"data": {"message": "inner"}}).message == "inner"


@pytest.mark.parametrize(
    ("status", "maybe"),
    [
        *[(status, False) for status in (307, 400, 401, 404, 409, 429, 503)],
        *[(status, True) for status in (500, 502, 504)],
    ],
)
def test_a_status_error_says_whether_the_request_may_have_run(status: int, maybe: bool) -> None:
    # 5xx (but 503) means the server failed while handling it: a paid POST may have gone
    # out. 429/503 are refusals before processing, as the retry policy treats them.
    error = status_error(status, {"message": "x"})
    assert error.may_have_been_processed is maybe
