"""Property test of the receiver against whatever a client can send (issue 9).

Bodies (genuine, forged, mutated, random JSON, random bytes, deep nesting,
lone surrogates, oversized), headers (auth, content type, content length,
junk), methods, paths, chunking, disconnects and stalls. Whatever arrives:
a documented status, a short JSON body, no handler call for anything
unverified, nothing logged at ERROR and at most one WARNING, no secret echoed.
Seeded (``derandomize=True``) and bounded, so the suite stays fast and repeatable.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receiver import BasicAuth, HmacSignature, InboundSms, SharedCode, SmsReceiver

from .receiver_asgi import call_asgi

pytestmark = pytest.mark.anyio

CODE = "shared-code-value"
HMAC_SECRET = "hmac-secret-value"
USER, PASSWORD = "ip-user", "ip-password-value"
SECRETS = (CODE, HMAC_SECRET, PASSWORD)
MAX_BODY = 2048
#: Every status the README's receiver table lists.
DOCUMENTED = {200, 400, 401, 403, 405, 408, 413, 415, 500, 503}


@dataclass(frozen=True)
class Setup:
    shared_code: bool = False
    hmac: bool = False
    basic: bool = False

    def verifier(self) -> SharedCode | HmacSignature | None:
        if self.shared_code:
            return SharedCode(CODE)
        return HmacSignature(HMAC_SECRET) if self.hmac else None

    def sign(self, data: dict[str, Any]) -> str:
        if self.hmac:
            fields = {
                name: data.get(key)
                for name, key in (("refid",) * 2, ("from_", "from"), ("to",) * 2, ("message",) * 2)
            }
            if not all(isinstance(v, str) for v in fields.values()):
                return "00" * 32  # a mutated message: nothing IntelePeer would sign
            # model_construct: sign whatever the fields hold, odd text included.
            return HmacSignature(HMAC_SECRET).sign(
                InboundSms.model_construct(**fields), HMAC_SECRET
            )
        return CODE


SETUPS = [
    Setup(shared_code=True),
    Setup(hmac=True),
    Setup(basic=True),
    Setup(basic=True, hmac=True),
]
GOOD_AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

odd_text = st.text(
    st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from('\n\x00{}"\\')),
    max_size=40,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(odd_text, children, max_size=4)
    ),
    max_leaves=12,
)
refids = st.one_of(
    st.just("ABCDEF1234567890ABCDEF1234567890"),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=70),
    odd_text,
)
numbers = st.one_of(
    st.sampled_from(["+13035550100", "13035550100", "57-Hello8", "+1 303 555 0100", "1-1234"]),
    odd_text,
)


@st.composite
def message_fields(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """A message dict, and whether it was left as IntelePeer would send it."""
    data: dict[str, Any] = {
        "refid": draw(refids),
        "from": draw(numbers),
        "to": draw(numbers),
        "message": draw(st.one_of(st.just("STOP please"), odd_text)),
    }
    genuine = draw(st.integers(0, 99)) < 40
    if genuine:
        data["refid"] = "ABCDEF1234567890ABCDEF1234567890"
        data["from"], data["to"] = "+13035550100", "+13035550111"
        data["message"] = "Hello World!"
        return data, True
    for key in draw(st.lists(st.sampled_from(sorted(data)), max_size=2, unique=True)):
        if draw(st.booleans()):
            del data[key]
        else:
            data[key] = draw(json_values)
    if draw(st.booleans()):
        data[draw(odd_text)] = draw(json_values)
    return data, False


def mostly(good: Any, other: st.SearchStrategy[Any], percent: int = 80) -> st.SearchStrategy[Any]:
    """`good` `percent`% of the time, else a draw from `other` (shrinks towards `good`)."""
    return st.integers(0, 99).flatmap(lambda n: st.just(good) if n < percent else other)


@dataclass
class Request:
    setup: Setup
    method: str
    path: str
    headers: list[tuple[str, str]]
    chunks: list[bytes]
    then: str
    #: IntelePeer's own request, as documented: must be answered 200.
    genuine: bool
    good_auth: bool


@st.composite
def requests(draw: st.DrawFn) -> Request:
    setup = draw(st.sampled_from(SETUPS))
    data, genuine = draw(message_fields())
    signature = draw(mostly("good", st.sampled_from(["bad", "missing", "odd"]), 60))
    if signature == "good":
        data["signature"] = setup.sign(data)
    elif signature == "bad":
        data["signature"] = "00" * 32
    elif signature == "odd":
        data["signature"] = draw(json_values)
    genuine = genuine and signature == "good"
    kind = draw(mostly("json", st.sampled_from(["value", "bytes", "deep", "huge"]), 70))
    if kind == "json":
        raw = json.dumps(data, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    elif kind == "value":
        raw = json.dumps(draw(json_values)).encode()
    elif kind == "bytes":
        raw = draw(st.binary(max_size=200))
    elif kind == "deep":
        depth = draw(st.integers(50, 5000))
        raw = b"[" * depth + b"]" * depth
    else:
        raw = json.dumps({**data, "pad": "x" * draw(st.integers(MAX_BODY, 4 * MAX_BODY))}).encode()
    genuine = genuine and kind == "json"

    method = draw(mostly("POST", st.sampled_from(["GET", "PUT", "HEAD", "OPTIONS", "FOO"]), 85))
    path = draw(mostly("/", st.sampled_from(["/sms", "/sms/", "/healthz", "/a/b"]), 60))
    genuine = genuine and method == "POST" and path != "/healthz"

    headers: list[tuple[str, str]] = []
    latin1 = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=30)
    content_type = draw(
        mostly(
            "application/json",
            st.one_of(
                st.sampled_from(["application/json; charset=utf-8", "application/problem+json"]),
                st.sampled_from(["text/plain", "multipart/form-data"]),
                latin1,
                st.none(),
            ),
            70,
        )
    )
    if content_type is not None:
        headers.append(("content-type", content_type))
        genuine = genuine and content_type.startswith("application/json")
    auth = draw(mostly(GOOD_AUTH, st.one_of(st.just("Basic " + "x" * 8), latin1, st.none())))
    if auth is not None:
        headers.append(("authorization", auth))
    good_auth = auth == GOOD_AUTH
    genuine = genuine and (good_auth or not setup.basic)
    length = draw(
        mostly(str(len(raw)), st.one_of(st.integers(0, 10**12).map(str), latin1, st.none()), 60)
    )
    if length is not None:
        headers.append(("content-length", length))
    genuine = genuine and length in (None, str(len(raw)))
    headers += draw(st.lists(st.tuples(latin1.filter(bool), latin1), max_size=3))

    cuts = sorted(draw(st.lists(st.integers(0, len(raw)), max_size=3)))
    chunks = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    then = draw(mostly("end", st.sampled_from(["disconnect", "stall"]), 85))
    genuine = genuine and then == "end"
    return Request(setup, method, path, headers, chunks, then, genuine, good_auth)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_logs() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def checker(setup: Setup) -> Callable[[InboundSms], bool]:
    verifier = setup.verifier()
    return verifier.verify if verifier is not None else (lambda message: True)


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
async def test_every_request_gets_a_documented_answer(request: Request) -> None:
    setup = request.setup
    rx = SmsReceiver(
        verifier=setup.verifier(),
        basic_auth=BasicAuth((USER, PASSWORD)) if setup.basic else None,
        max_body_bytes=MAX_BODY,
        body_timeout=0.05,
    )
    seen: list[InboundSms] = []

    @rx.on_message()
    async def handler(message: InboundSms) -> None:
        seen.append(message)

    with captured_logs() as logs:
        result = await call_asgi(
            rx.app,
            request.chunks,
            method=request.method,
            path=request.path,
            headers=request.headers,
            then=request.then,  # type: ignore[arg-type]
        )

    assert result.raised is None, repr(result.raised)
    assert result.status in DOCUMENTED - {500, 503}  # handlers never fail here, nothing closes
    if request.genuine:
        assert result.status == 200
    if request.method != "HEAD":
        answer = result.json()
        assert isinstance(answer, dict) and len(result.body) < 300
        if result.status != 200:
            assert set(answer) == {"error"}
        elif request.path == "/healthz":
            assert answer == {"status": "ok"}
        else:
            assert set(answer) == {"status", "refid"}
        assert not any(secret in result.body.decode() for secret in SECRETS)
    # No handler sees anything unverified.
    verify = checker(setup)
    for message in seen:
        assert verify(message)
        assert request.good_auth or not setup.basic
    assert len(seen) <= 1
    noisy = [r for r in logs.records if r.levelno >= logging.WARNING]
    assert all(r.levelno < logging.ERROR for r in noisy), [r.getMessage() for r in noisy]
    assert len(noisy) <= 1, [r.getMessage() for r in noisy]
    assert all(r.exc_info is None for r in noisy)
