"""The receiver app: every response code, dedup, concurrency, failures, limits."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest

from intelepeer_async import InvalidInputError
from receiver import HmacSignature, InboundSms, MemoryStore, SharedCode, SmsReceiver

from .helpers import fixture_text
from .receiver_asgi import call_asgi

pytestmark = pytest.mark.anyio

SEED = json.loads(fixture_text("inbound_sms.json"))  # signature "SECRET CODE"


def sms(**changes: Any) -> dict[str, Any]:
    body = dict(SEED)
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
async def rx() -> SmsReceiver:
    return SmsReceiver(verifier=SharedCode("SECRET CODE"))


async def client_for(receiver: SmsReceiver) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receiver.app), base_url="http://rx.test"
    )


@pytest.fixture
async def http(rx: SmsReceiver) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(rx) as client:
        yield client


async def test_seed_message_is_handled(rx: SmsReceiver, http: httpx.AsyncClient) -> None:
    got: list[InboundSms] = []

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        got.append(msg)

    response = await http.post(
        "/", content=fixture_text("inbound_sms.json"), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "refid": "ABCDEF1234567890ABCDEF1234567890"}
    assert len(got) == 1
    msg = got[0]
    assert (msg.refid, msg.from_, msg.to, msg.message) == (
        "ABCDEF1234567890ABCDEF1234567890",
        "+7708675309",
        "+13038675309",
        "Hello World!",
    )
    for shown in (repr(msg), str(msg), f"{msg}"):
        assert "SECRET" not in shown and "+7708675309" not in shown and "Hello" not in shown


async def test_extra_fields_are_kept(rx: SmsReceiver, http: httpx.AsyncClient) -> None:
    got: list[InboundSms] = []

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        got.append(msg)

    assert (await http.post("/", json=sms(media=["x"], refid="R-extra"))).status_code == 200
    assert got[0].model_extra == {"media": ["x"]}


async def test_short_codes_are_accepted(rx: SmsReceiver, http: httpx.AsyncClient) -> None:
    response = await http.post("/", json=sms(**{"from": "1-1234", "to": "1-12345"}))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"", "not valid JSON"),
        (json.dumps({k: v for k, v in SEED.items() if k != "refid"}).encode(), "refid"),
        (json.dumps(sms(refid="")).encode(), "refid"),
        (json.dumps(sms(message=42)).encode(), "message"),
        (json.dumps(sms(to=13038675309)).encode(), "to"),
        (json.dumps(sms(**{"from": ""})).encode(), "from"),
        (json.dumps({k: v for k, v in SEED.items() if k != "message"}).encode(), "message"),
    ],
)
async def test_400_for_malformed_bodies(
    rx: SmsReceiver, http: httpx.AsyncClient, body: bytes, field: str
) -> None:
    called: list[InboundSms] = []

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        called.append(msg)

    response = await http.post("/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert called == []


@pytest.mark.parametrize("signature", ["WRONG", None, "SECRET CODE "])
async def test_403_for_bad_or_missing_signature(
    rx: SmsReceiver,
    http: httpx.AsyncClient,
    signature: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    called: list[InboundSms] = []

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        called.append(msg)

    response = await http.post("/", json=sms(signature=signature))
    assert response.status_code == 403
    assert response.json() == {"error": "bad or missing signature"}
    assert called == []
    assert "SECRET CODE" not in caplog.text and "SECRET CODE" not in response.text


async def test_basic_auth() -> None:
    rx = SmsReceiver(basic_auth=[("ip", "old-pass"), ("ip", "new-pass")])
    async with await client_for(rx) as http:
        ok_old = await http.post("/", json=sms(refid="b1"), headers=basic("ip", "old-pass"))
        ok_new = await http.post("/", json=sms(refid="b2"), headers=basic("ip", "new-pass"))
        wrong = await http.post("/", json=sms(refid="b3"), headers=basic("ip", "nope"))
        missing = await http.post("/", json=sms(refid="b4"))
        garbage = await http.post("/", json=sms(refid="b5"), headers={"Authorization": "Basic !!"})
        bearer = await http.post("/", json=sms(refid="b6"), headers={"Authorization": "Bearer x"})
    assert ok_old.status_code == ok_new.status_code == 200
    for response in (wrong, missing, garbage, bearer):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert "pass" not in response.text


async def test_basic_auth_and_signature_together() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), basic_auth=("ip", "pw"))
    async with await client_for(rx) as http:
        assert (await http.post("/", json=sms(), headers=basic("ip", "pw"))).status_code == 200
        bad_sig = await http.post("/", json=sms(signature="x"), headers=basic("ip", "pw"))
        assert bad_sig.status_code == 403
        assert (await http.post("/", json=sms())).status_code == 401


async def test_405_415_and_healthz(http: httpx.AsyncClient) -> None:
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        response = await http.request(method, "/")
        assert response.status_code == 405
        assert response.headers["Allow"] == "POST"
        assert "error" in response.json()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        response = await http.post(
            "/", content=json.dumps(sms()), headers={"Content-Type": content_type}
        )
        assert response.status_code == 415
        assert response.json() == {"error": "content type must be application/json"}
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    refused = await http.post("/healthz")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")
    charset = await http.post(
        "/",
        content=json.dumps(sms(refid="cs")),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status_code == 200


async def test_413_from_content_length(rx: SmsReceiver, http: httpx.AsyncClient) -> None:
    body = json.dumps(sms(message="x" * (70 * 1024)))
    response = await http.post("/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413


async def test_413_for_a_10_mb_body_without_reading_it_all(rx: SmsReceiver) -> None:
    """A streamed body with no Content-Length is cut off at the limit, not buffered."""
    chunk = b"x" * 16384
    chunks = [chunk] * ((10 * 1024 * 1024) // len(chunk))
    result = await call_asgi(rx.app, chunks)
    assert result.status == 413
    assert result.receives <= (64 * 1024) // len(chunk) + 2
    assert result.receives < len(chunks)


async def test_duplicate_refid_runs_handlers_once(rx: SmsReceiver, http: httpx.AsyncClient) -> None:
    calls: list[str] = []

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        calls.append(msg.refid)

    first = await http.post("/", json=sms())
    again = await http.post("/", json=sms())
    assert first.status_code == again.status_code == 200
    assert calls == [SEED["refid"]]


async def deliver_together(http: httpx.AsyncClient, count: int, release: anyio.Event) -> list[int]:
    """`count` deliveries of the seed at once; `release` is set once all are blocked."""
    statuses: list[int] = []

    async def deliver() -> None:
        statuses.append((await http.post("/", json=sms())).status_code)

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(deliver)
        await anyio.wait_all_tasks_blocked()
        assert statuses == []  # every delivery is waiting on the first one's handler
        release.set()
    return statuses


async def test_concurrent_duplicates_wait_for_the_first(
    rx: SmsReceiver, http: httpx.AsyncClient
) -> None:
    calls = 0
    release = anyio.Event()

    @rx.on_message()
    async def slow(msg: InboundSms) -> None:
        nonlocal calls
        calls += 1
        await release.wait()

    assert await deliver_together(http, 5, release) == [200] * 5
    assert calls == 1


async def test_concurrent_duplicates_share_a_failure(
    rx: SmsReceiver, http: httpx.AsyncClient
) -> None:
    calls = 0
    release = anyio.Event()

    @rx.on_message()
    async def broken(msg: InboundSms) -> None:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("db down")

    assert await deliver_together(http, 2, release) == [500, 500]
    assert calls == 1


async def test_failing_then_succeeding_handler(
    rx: SmsReceiver, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    attempts = 0
    log: list[str] = []

    @rx.on_message()
    async def audit(msg: InboundSms) -> None:
        log.append("audit")

    @rx.on_message()
    async def flaky(msg: InboundSms) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("temporary")
        log.append("flaky")

    first = await http.post("/", json=sms())
    assert first.status_code == 500
    assert first.json() == {"error": "not handled; deliver again"}
    assert "Traceback" not in first.text and "temporary" not in first.text
    second = await http.post("/", json=sms())
    assert second.status_code == 200
    third = await http.post("/", json=sms())
    assert third.status_code == 200
    assert attempts == 2
    assert log == ["audit", "flaky"]  # audit succeeded the first time: not run again


async def test_slow_handler_counts_as_failed() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), handler_timeout=0.1)
    calls = 0

    @rx.on_message()
    async def slow(msg: InboundSms) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await anyio.sleep(5)

    async with await client_for(rx) as http:
        started = anyio.current_time()
        assert (await http.post("/", json=sms())).status_code == 500
        assert anyio.current_time() - started < 2
        assert (await http.post("/", json=sms())).status_code == 200
    assert calls == 2


async def test_filters(rx: SmsReceiver, http: httpx.AsyncClient) -> None:
    seen: list[tuple[str, str]] = []

    def record(name: str) -> Any:
        async def handler(msg: InboundSms) -> None:
            seen.append((name, msg.refid))

        return handler

    rx.on_message(to="+13038675309")(record("to"))
    rx.on_message(to=["+15550000000", "+15550000001"])(record("to-list"))
    rx.on_message(from_="+7708675309")(record("from"))
    rx.on_message(keyword="stop")(record("keyword"))
    rx.on_message(match=re.compile(r"\border\s+#?\d+", re.I))(record("regex"))
    rx.on_message(match=lambda text: len(text) > 20)(record("predicate"))
    rx.on_message(to="+13038675309", keyword="STOP")(record("to+keyword"))
    rx.on_message()(record("all"))

    await http.post("/", json=sms(refid="1", message="Stop please"))
    await http.post("/", json=sms(refid="2", message="Where is ORDER #42?", to="+15550000001"))
    await http.post("/", json=sms(refid="3", message="unstop", **{"from": "+15551234567"}))
    await http.post("/", json=sms(refid="4", message="this message is long enough"))

    by_refid: dict[str, list[str]] = {}
    for name, refid in seen:
        by_refid.setdefault(refid, []).append(name)
    assert by_refid["1"] == ["to", "from", "keyword", "to+keyword", "all"]
    assert by_refid["2"] == ["to-list", "from", "regex", "all"]
    assert by_refid["3"] == ["to", "all"]
    assert by_refid["4"] == ["to", "from", "predicate", "all"]


async def test_no_matching_handler_is_200(
    rx: SmsReceiver, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="intelepeer_async.receiver")

    @rx.on_message(keyword="JOIN")
    async def join(msg: InboundSms) -> None:
        raise AssertionError("not for this message")

    assert (await http.post("/", json=sms())).status_code == 200
    assert "matched no handler" in caplog.text


async def test_personal_data_only_at_debug(
    rx: SmsReceiver, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    @rx.on_message()
    async def broken(msg: InboundSms) -> None:
        raise RuntimeError("boom")

    caplog.set_level(logging.DEBUG, logger="intelepeer_async.receiver")
    await http.post("/", json=sms())
    await http.post("/", json=sms(signature="bad"))
    above_debug = [r for r in caplog.records if r.levelno > logging.DEBUG]
    assert above_debug
    for record in above_debug:
        text = record.getMessage()
        assert "+7708675309" not in text and "+13038675309" not in text
        assert "Hello World" not in text and "SECRET CODE" not in text
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("Hello World" in text for text in debug)


async def test_hmac_verifier_with_rotation() -> None:
    verifier = HmacSignature("old-secret", "new-secret")
    rx = SmsReceiver(verifier=verifier)
    message = InboundSms.model_validate(sms(signature=None))
    async with await client_for(rx) as http:
        for i, secret in enumerate(("old-secret", "new-secret")):
            signed = sms(refid=f"h{i}", signature=None)
            signed["signature"] = verifier.sign(InboundSms.model_validate(signed), secret)
            assert (await http.post("/", json=signed)).status_code == 200
        forged = sms(refid="h9", signature=verifier.sign(message, "other-secret"))
        assert (await http.post("/", json=forged)).status_code == 403


async def test_receiver_requires_verification_or_explicit_opt_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(InvalidInputError, match="allow_unverified"):
        SmsReceiver()
    caplog.set_level(logging.WARNING)
    rx = SmsReceiver(allow_unverified=True)
    assert caplog.text.count("UNVERIFIED") == 1
    async with rx.lifespan(), await client_for(rx) as http:
        assert caplog.text.count("UNVERIFIED") == 2  # said again when serving starts
        assert (await http.post("/", json=sms(signature=None))).status_code == 200


async def test_handlers_must_be_async() -> None:
    rx = SmsReceiver(allow_unverified=True)

    def sync_handler(msg: InboundSms) -> None:
        return None

    with pytest.raises(InvalidInputError, match="async"):
        rx.on_message()(sync_handler)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="one word"):
        rx.on_message(keyword="two words")


async def test_lifespan_hooks_and_503_when_shutting_down(rx: SmsReceiver) -> None:
    events: list[str] = []
    release = anyio.Event()

    @rx.on_startup
    async def started() -> None:
        events.append("startup")

    @rx.on_shutdown
    async def stopped() -> None:
        events.append("shutdown")

    @rx.on_message()
    async def slow(msg: InboundSms) -> None:
        await release.wait()
        events.append("handled")

    async with await client_for(rx) as http:
        statuses: list[int] = []

        async def deliver() -> None:
            statuses.append((await http.post("/", json=sms())).status_code)

        async with anyio.create_task_group() as tg, rx.lifespan():
            assert events == ["startup"]
            tg.start_soon(deliver)
            await anyio.wait_all_tasks_blocked()  # the delivery is inside its handler
            release.set()  # it finishes only once shutdown has begun draining
        assert events == ["startup", "handled", "shutdown"]
        assert statuses == [200]
        late = await http.post("/", json=sms(refid="late"))
        assert late.status_code == 503
        assert late.json() == {"error": "shutting down"}
        assert (await http.get("/healthz")).status_code == 503


async def test_shutdown_waits_for_every_handler_of_an_in_flight_message() -> None:
    """Review: the grace was one `handler_timeout` + 1 s, so with several handlers the
    shutdown hooks ran (closing what the last handler replies with) mid-delivery."""
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), handler_timeout=0.5)
    events: list[str] = []
    first_started = anyio.Event()
    # 6 x 0.3 s: past the old grace of 0.5 + 1 s; each handler has 0.2 s to spare
    # under its timeout, so a stall on a loaded machine does not time one out.
    for number in range(6):

        @rx.on_message()
        async def handler(msg: InboundSms, number: int = number) -> None:
            first_started.set()
            await anyio.sleep(0.3)  # the work that shutdown must wait for
            events.append(f"handler {number}")

    @rx.on_shutdown
    async def stopped() -> None:
        events.append("shutdown")

    async with await client_for(rx) as http:
        statuses: list[int] = []

        async def deliver() -> None:
            statuses.append((await http.post("/", json=sms())).status_code)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg, rx.lifespan():
                tg.start_soon(deliver)
                await first_started.wait()  # then shut down, mid-delivery
    assert events == [*(f"handler {n}" for n in range(6)), "shutdown"]
    assert statuses == [200]


async def test_a_second_lifespan_at_once_is_refused_and_the_first_serves_on() -> None:
    """Review: two lifespans of one receiver shared its state, so the first one's end
    left the second answering 503 for good (queued: the first one's exit hung)."""
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    async with await client_for(rx) as http:
        async with rx.lifespan():
            with pytest.raises(InvalidInputError, match="already running"):
                async with rx.lifespan():
                    pass
            assert (await http.post("/", json=sms(refid="during"))).status_code == 200
        async with rx.lifespan():  # one after the other is fine
            assert (await http.post("/", json=sms(refid="after"))).status_code == 200
            assert (await http.get("/healthz")).status_code == 200


async def test_answers_shared_by_requests_never_carry_another_requests_headers() -> None:
    """Review: the fixed answers sent one header list object, so a middleware adding a
    header to it (as OpenTelemetry's does) made every later answer carry all of them."""
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    seen = 0

    async def tracing(scope: Any, receive: Any, send: Any) -> None:
        nonlocal seen
        seen += 1
        trace = f"trace-{seen}".encode()

        async def traced_send(event: Any) -> None:
            if event["type"] == "http.response.start":
                event["headers"].append((b"traceresponse", trace))
            await send(event)

        await rx.app(scope, receive, traced_send)

    transport = httpx.ASGITransport(app=tracing)
    async with httpx.AsyncClient(transport=transport, base_url="http://rx.test") as http:
        statuses = []
        for request in range(3):
            for answer in (
                http.get("/healthz"),
                http.put("/"),  # a 405
                http.post("/", json=sms(refid=f"R-{request}")),  # a 200
                http.post("/", json=sms(signature="forged")),  # a 403
            ):
                response = await answer
                statuses.append(response.status_code)
                assert response.headers.get_list("traceresponse") == [f"trace-{seen}"]
    assert statuses == [200, 405, 200, 403] * 3


class FlakyStore(MemoryStore):
    """A MemoryStore whose mark_handled fails once, like a shared store losing its server."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def mark_handled(self, refid: str) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store down")
        await super().mark_handled(refid)


async def test_store_failure_answers_500_and_loses_nothing() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), store=FlakyStore())
    calls = 0

    @rx.on_message()
    async def handler(msg: InboundSms) -> None:
        nonlocal calls
        calls += 1

    async with await client_for(rx) as http:
        first = await http.post("/", json=sms())
        assert first.status_code == 500
        assert first.json() == {"error": "not handled; deliver again"}
        assert (await http.post("/", json=sms())).status_code == 200
        assert (await http.post("/", json=sms())).status_code == 200
    assert calls == 1  # the handler's success was remembered across the store failure
