"""Handlers: progress kept through cancellation, keyword sets, what failures log.

Issue 9, items 5 (progress recorded as it happens), 9 (keywords) and 11 (a
handler's exception text only at DEBUG).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anyio
import pytest

from intelepeer_async import InvalidInputError
from receiver import (
    HELP_KEYWORDS,
    OPT_OUT_KEYWORDS,
    InboundSms,
    MemoryStore,
    SharedCode,
    SmsReceiver,
)

from .helpers import fixture_json
from .receiver_asgi import call_asgi

pytestmark = pytest.mark.anyio

SEED: dict[str, str] = fixture_json("inbound_sms.json")


def body(**changes: Any) -> bytes:
    return json.dumps({**SEED, **changes}).encode()


# -- item 5: each handler's success is recorded as it happens ---------------------


async def test_cancelled_delivery_keeps_the_progress_of_handlers_that_succeeded() -> None:
    store = MemoryStore()
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), store=store)
    runs: list[str] = []
    first_attempt = True

    @rx.on_message()
    async def a(msg: InboundSms) -> None:
        runs.append("a")

    @rx.on_message()
    async def b(msg: InboundSms) -> None:
        runs.append("b")
        if first_attempt:
            await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        tg.start_soon(call_asgi, rx.app, body())
        await anyio.wait_all_tasks_blocked()  # inside b
        tg.cancel_scope.cancel()  # the server cancels the request (shutdown, say)
    assert runs == ["a", "b"]
    assert len(await store.successes(SEED["refid"])) == 1  # a's success, kept

    first_attempt = False
    again = await call_asgi(rx.app, body())
    assert again.status == 200
    assert runs == ["a", "b", "b"]  # a is not run again
    assert await store.successes(SEED["refid"]) == set()  # handled: progress dropped
    assert (await call_asgi(rx.app, body())).status == 200
    assert runs == ["a", "b", "b"]


async def test_progress_lives_in_the_store_so_another_worker_skips_what_succeeded() -> None:
    shared = MemoryStore()
    runs: list[tuple[int, str]] = []

    def worker(number: int, fail_b: bool) -> SmsReceiver:
        rx = SmsReceiver(verifier=SharedCode("SECRET CODE"), store=shared)

        @rx.on_message()
        async def a(msg: InboundSms) -> None:
            runs.append((number, "a"))

        @rx.on_message()
        async def b(msg: InboundSms) -> None:
            runs.append((number, "b"))
            if fail_b:
                raise RuntimeError("down")

        return rx

    assert (await call_asgi(worker(1, fail_b=True).app, body())).status == 500
    assert (await call_asgi(worker(2, fail_b=False).app, body())).status == 200
    assert runs == [(1, "a"), (1, "b"), (2, "b")]


async def test_handlers_with_the_same_name_keep_separate_progress() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    runs: list[int] = []
    failures = [1]

    def make(number: int) -> Any:
        async def same(msg: InboundSms) -> None:  # one __qualname__ for both
            runs.append(number)
            if number == 2 and failures:
                failures.pop()
                raise RuntimeError("once")

        return same

    rx.on_message()(make(1))
    rx.on_message()(make(2))
    assert (await call_asgi(rx.app, body())).status == 500
    assert (await call_asgi(rx.app, body())).status == 200
    assert runs == [1, 2, 2]


# -- item 9: keywords ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "matched"),
    [
        ("STOP", "stop"),
        ("Stop.", "stop"),
        ("STOP!", "stop"),
        ("  stop!!! please", "stop"),
        ('"Stop"', "stop"),
        ("\u00a1Stop!", "stop"),
        ("cancel", "stop"),
        ("Unsubscribe.", "stop"),
        ("STOPALL", "stop"),
        ("end", "stop"),
        ("Quit?", "stop"),
        ("help", "help"),
        ("Info!", "help"),
        ("stopping", None),
        ("don't stop", None),
        ("", None),
        ("...", None),
    ],
)
async def test_keyword_sets_match_the_first_word_ignoring_punctuation(
    text: str, matched: str | None
) -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    got: list[str] = []

    @rx.on_message(keyword=OPT_OUT_KEYWORDS)
    async def stop(msg: InboundSms) -> None:
        got.append("stop")

    @rx.on_message(keyword=HELP_KEYWORDS)
    async def help_(msg: InboundSms) -> None:
        got.append("help")

    assert (await call_asgi(rx.app, body(message=text))).status == 200
    assert got == ([matched] if matched else [])


async def test_keyword_lists_and_single_keywords() -> None:
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))
    got: list[str] = []

    @rx.on_message(keyword=["STOP", "cancel"])
    async def listed(msg: InboundSms) -> None:
        got.append(msg.refid)

    @rx.on_message(keyword="stop!")
    async def single(msg: InboundSms) -> None:
        got.append("single:" + msg.refid)

    for refid, text in [("r1", "Stop."), ("r2", "CANCEL!"), ("r3", "start")]:
        assert (await call_asgi(rx.app, body(refid=refid, message=text))).status == 200
    assert got == ["r1", "single:r1", "r2"]


def test_keyword_constants() -> None:
    assert frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}) == (
        OPT_OUT_KEYWORDS
    )
    assert frozenset({"HELP", "INFO"}) == HELP_KEYWORDS
    message = InboundSms(refid="r", from_="a", to="b", message="\u00a1Stop, please!")
    assert message.keyword == "STOP"


@pytest.mark.parametrize("bad", ["two words", "", "!!", [], ["STOP", "two words"], [1], b"STOP"])
def test_bad_keywords_fail_at_registration(bad: Any) -> None:
    rx = SmsReceiver(allow_unverified=True)
    with pytest.raises(InvalidInputError, match="keyword"):
        rx.on_message(keyword=bad)


# -- item 11: a handler's exception text stays at DEBUG ----------------------------


async def test_handler_exception_text_is_logged_only_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="intelepeer_async.receiver")
    rx = SmsReceiver(verifier=SharedCode("SECRET CODE"))

    @rx.on_message()
    async def reply(msg: InboundSms) -> None:
        raise RuntimeError(f"cannot reply to {msg.from_}: FAIL {msg.message}")

    @rx.on_message(match=lambda text: text.startswith(text[100]))
    async def never(msg: InboundSms) -> None:
        return None

    assert (await call_asgi(rx.app, body())).status == 500
    above_debug = [r for r in caplog.records if r.levelno > logging.DEBUG]
    errors = [r.getMessage() for r in above_debug if r.levelno >= logging.ERROR]
    assert any("reply" in e and "RuntimeError" in e and SEED["refid"] in e for e in errors)
    assert any("never" in e and "IndexError" in e for e in errors)
    for record in above_debug:
        text = record.getMessage()
        assert "+7708675309" not in text and "Hello World" not in text, text
        assert record.exc_info is None  # a traceback ends with the exception's text
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG and r.exc_info]
    assert any("Hello World" in str(r.exc_info[1]) for r in debug if r.exc_info)
