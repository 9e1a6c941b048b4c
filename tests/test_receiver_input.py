"""Whatever arrives, the receiver answers a documented status with a short JSON body.

Issue 9, items 1 (no unhandled error), 2 (body deadline), 3 (413 closes),
6 (refid bounded) and 7 (senders in any format are accepted).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest

from receiver import HmacSignature, InboundSms, SharedCode, SmsReceiver

from .helpers import fixture_json
from .receiver_asgi import call_asgi

pytestmark = pytest.mark.anyio

SEED: dict[str, str] = fixture_json("inbound_sms.json")  # signature "SECRET CODE"
HMAC = HmacSignature("hmac-secret")


def body(**changes: Any) -> bytes:
    data: dict[str, Any] = {**SEED, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not None}).encode()


def hmac_signed(data: dict[str, Any]) -> bytes:
    """`data` signed with HMAC (over the text as Python sees it), as raw JSON."""
    fields = {("from_" if k == "from" else k): v for k, v in data.items() if k != "signature"}
    message = InboundSms.model_construct(**fields)  # no validation: lone surrogates stay
    return json.dumps({**data, "signature": HMAC.sign(message, "hmac-secret")}).encode()


def receiver_with_log(**options: Any) -> tuple[SmsReceiver, list[str]]:
    rx = SmsReceiver(**{"verifier": SharedCode("SECRET CODE"), **options})
    seen: list[str] = []

    @rx.on_message()
    async def record(msg: InboundSms) -> None:
        seen.append(msg.refid)

    return rx, seen


def assert_quiet(caplog: pytest.LogCaptureFixture) -> None:
    """At most one WARNING line, nothing at ERROR, no traceback."""
    noisy = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noisy) <= 1, [r.getMessage() for r in noisy]
    assert all(r.levelno < logging.ERROR for r in noisy)
    assert all(r.exc_info is None for r in caplog.records if r.levelno > logging.DEBUG)


# -- item 1: no request ends in an unhandled error ------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2000 + b"]" * 2000,
        b'{"refid": "R1", "deep": ' + b"[" * 2000 + b"]" * 2000 + b"}",
        b'{"a":' * 1500 + b"1" + b"}" * 1500,
    ],
    ids=["list", "in-a-field", "objects"],
)
async def test_deeply_nested_json_is_a_400(raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    rx, seen = receiver_with_log()
    result = await call_asgi(rx.app, raw)
    assert result.raised is None
    assert result.status == 400
    assert result.json()["error"].startswith("body is not valid JSON")
    assert seen == []
    assert_quiet(caplog)


@pytest.mark.parametrize("field", ["refid", "from", "to", "message", "signature", "extra"])
@pytest.mark.parametrize("verifier", ["shared-code", "hmac"])
async def test_lone_surrogate_in_any_field_is_a_400(
    field: str, verifier: str, caplog: pytest.LogCaptureFixture
) -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE") if verifier == "shared-code" else HMAC)
    data = {**SEED, field: "x\ud800y"}
    signed = verifier == "hmac" and field != "signature"
    raw = hmac_signed(data) if signed else body(**data)
    assert b"\\ud800" in raw  # the JSON escape of a lone surrogate, as an attacker sends it
    result = await call_asgi(rx.app, raw)
    assert result.raised is None
    assert result.status == 400
    assert result.json()["error"].startswith("body is not valid JSON")
    assert_quiet(caplog)


async def test_client_disconnecting_mid_body(caplog: pytest.LogCaptureFixture) -> None:
    rx, seen = receiver_with_log()
    raw = body()
    result = await call_asgi(rx.app, [raw[:20], raw[20:40]], then="disconnect")
    assert result.raised is None
    assert result.status == 400
    assert result.json() == {"error": "client disconnected before the body was complete"}
    assert result.headers["connection"] == "close"
    assert seen == []
    assert_quiet(caplog)


@pytest.mark.parametrize("declared", ["\u00b2", "-1", "12abc", " 5", "9" * 40])
async def test_odd_content_length_is_not_a_crash(
    declared: str, caplog: pytest.LogCaptureFixture
) -> None:
    rx, _ = receiver_with_log()
    headers = (("content-type", "application/json"), ("content-length", declared))
    result = await call_asgi(rx.app, body(), headers=headers)
    assert result.raised is None
    assert result.status in (200, 400, 413)
    assert isinstance(result.json(), dict)
    assert_quiet(caplog)


class BrokenVerifier:
    def verify(self, message: InboundSms) -> bool:
        raise RuntimeError(f"cannot check {message.message}")


async def test_a_verifier_that_raises_answers_500_json(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="intelepeer_async.receiver")
    rx, seen = receiver_with_log(verifier=BrokenVerifier())
    result = await call_asgi(rx.app, body())
    assert result.raised is None
    assert result.status == 500
    assert result.json() == {"error": "not handled; deliver again"}
    assert seen == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "RuntimeError" in errors[0].getMessage()
    assert "Hello World" not in errors[0].getMessage() and errors[0].exc_info is None
    assert any(r.exc_info for r in caplog.records if r.levelno == logging.DEBUG)


# -- item 2: a deadline for the body ---------------------------------------------


async def test_a_stalled_body_gets_408_within_the_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rx, seen = receiver_with_log(body_timeout=0.2)
    raw = body()
    started = anyio.current_time()
    result = await call_asgi(rx.app, [raw[:30]], then="stall")
    assert anyio.current_time() - started < 2
    assert result.status == 408
    assert result.json() == {"error": "body not received within 0.2s"}
    assert result.headers["connection"] == "close"
    assert seen == []
    assert_quiet(caplog)


async def test_body_deadline_is_checked() -> None:
    from intelepeer_async import InvalidInputError

    for bad in (0, -1.0, float("nan")):
        with pytest.raises(InvalidInputError, match="body_timeout"):
            SmsReceiver(allow_unverified=True, body_timeout=bad)


# -- item 3: 413 closes the connection -------------------------------------------


async def test_413_closes_the_connection() -> None:
    rx, seen = receiver_with_log(max_body_bytes=1024)
    declared = await call_asgi(
        rx.app,
        b"x" * 100,
        headers=(("content-type", "application/json"), ("content-length", str(300 << 20))),
    )
    streamed = await call_asgi(rx.app, [b"x" * 600] * 4)
    for result in (declared, streamed):
        assert result.status == 413
        assert result.json() == {"error": "body over 1024 bytes"}
        assert result.headers["connection"] == "close"
    assert declared.receives == 0
    assert streamed.receives == 2
    assert seen == []


async def test_answers_before_the_body_is_read_close_the_connection() -> None:
    rx = SmsReceiver(basic_auth=("ip", "pw"))
    unauthenticated = await call_asgi(rx.app, body())
    wrong_type = await call_asgi(rx.app, body(), headers=(("content-type", "text/plain"),))
    wrong_method = await call_asgi(rx.app, body(), method="PUT")
    health_with_body = await call_asgi(
        rx.app, body(), method="GET", path="/healthz", headers=(("content-length", "152"),)
    )
    for result in (unauthenticated, wrong_type, wrong_method, health_with_body):
        assert result.status in (200, 401, 405, 415)
        assert result.receives == 0
        assert result.headers["connection"] == "close"
    health = await call_asgi(rx.app, method="GET", path="/healthz", headers=())
    assert health.status == 200
    assert "connection" not in health.headers


# -- item 6: refid is bounded ----------------------------------------------------


@pytest.mark.parametrize(
    ("refid", "status"),
    [
        ("A" * 64, 200),
        ("abc-123_XYZ.~", 200),
        ("A" * 65, 400),
        ("R" * 60_000, 400),
        ("two words", 400),
        ("line\nbreak", 400),
        ("caf\u00e9", 400),
    ],
)
async def test_refid_is_short_printable_ascii(refid: str, status: int) -> None:
    rx, seen = receiver_with_log()
    result = await call_asgi(rx.app, body(refid=refid))
    assert result.status == status
    if status == 400:
        assert "refid" in result.json()["error"]
        assert seen == []
    else:
        assert seen == [refid]


async def test_many_long_refids_do_not_fill_the_store() -> None:
    rx, seen = receiver_with_log()
    for i in range(50):
        result = await call_asgi(rx.app, body(refid=f"{i:05d}" + "R" * 60_000))
        assert result.status == 400
    assert seen == []
    assert len(rx._store) == 0  # type: ignore[arg-type]


# -- item 7: senders in any sane format are accepted --------------------------------


@pytest.mark.parametrize(
    "sender", ["13035550100", "57-Hello8", "+1 303 555 0100", "1-1234", "+13035550100", "x"]
)
async def test_any_sender_format_is_accepted(sender: str) -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    got: list[tuple[str, str]] = []

    @rx.on_message()
    async def record(msg: InboundSms) -> None:
        got.append((msg.from_, msg.to))

    result = await call_asgi(rx.app, body(**{"from": sender, "to": sender}))
    assert result.status == 200
    assert got == [(sender, sender)]  # exactly as sent


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"from": ""}, "from"),
        ({"to": ""}, "to"),
        ({"from": "1" * 65}, "from"),
        ({"to": 13038675309}, "to"),
    ],
)
async def test_only_empty_or_absurd_numbers_are_refused(
    changes: dict[str, Any], field: str
) -> None:
    rx, seen = receiver_with_log()
    result = await call_asgi(rx.app, body(**changes))
    assert result.status == 400
    assert field in result.json()["error"]
    assert seen == []


async def test_number_filters_match_any_formatting_of_the_number() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    got: list[str] = []

    @rx.on_message(from_="+13035550100")
    async def from_filter(msg: InboundSms) -> None:
        got.append(msg.refid)

    for i, sender in enumerate(["13035550100", "+1 303 555 0100", "+1 (303) 555-0100", "+1303"]):
        assert (await call_asgi(rx.app, body(refid=f"f{i}", **{"from": sender}))).status == 200
    assert got == ["f0", "f1", "f2"]
