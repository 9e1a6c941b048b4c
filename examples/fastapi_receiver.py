"""A FastAPI service that receives inbound SMS at /sms and replies with ``ip.sms.send``.

    SMS_SHARED_CODE=... SMS_WEBHOOK_USER=... SMS_WEBHOOK_PASSWORD=... \\
    INTELEPEER_USERNAME=... INTELEPEER_PASSWORD=... \\
        uvicorn examples.fastapi_receiver:app --port 8000

Point the numbers' webhook at ``https://user:password@your.host/sms`` (the
SMS_WEBHOOK_* pair). STOP and the other opt-out words get a confirmation, HELP
gets the help text, and every message is counted (``GET /stats``). Replies
follow the README's pattern ("Replying from a handler"): each has a budget
well inside the handler's, and one that may have gone out counts as sent, so a
redelivery never texts the customer twice.

Against the simulator: ``intelepeer sandbox``, SMS_SHARED_CODE=demo-shared-code,
INTELEPEER_USERNAME=demo, INTELEPEER_PASSWORD=demo and
INTELEPEER_BASE_URL=http://127.0.0.1:8765; set a number's webhook to this
service, then ``intelepeer sandbox send-inbound --from +17205551212 --to
+13035550100 --message STOP``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from intelepeer_async import (
    APIConnectionError,
    APIStatusError,
    AsyncIntelePeer,
    InvalidInputError,
)
from receiver import HELP_KEYWORDS, OPT_OUT_KEYWORDS, InboundSms, SharedCode, SmsReceiver

log = logging.getLogger("sms-service")

codes = [c for c in os.environ.get("SMS_SHARED_CODE", "").split(",") if c]
user, password = os.environ.get("SMS_WEBHOOK_USER"), os.environ.get("SMS_WEBHOOK_PASSWORD")
rx = SmsReceiver(
    verifier=SharedCode(*codes) if codes else None,
    basic_auth=(user, password) if user and password else None,
)
ip = AsyncIntelePeer()  # credentials from INTELEPEER_* variables
# Each reply's whole budget (login and retries included) ends well before the handler's.
replies = ip.with_options(timeout=rx.handler_timeout / 2)
stats = {"received": 0, "opted_out": 0, "replies": 0}


async def reply(msg: InboundSms, text: str) -> None:
    """Answer `msg`'s sender from the number it was sent to: at most once per message."""
    try:
        await replies.sms.send(from_=msg.to, to=msg.from_, text=text)
    except InvalidInputError:
        log.warning("%s: this sender cannot be replied to", msg.refid)
        return
    except (APIConnectionError, APIStatusError) as exc:
        # No answer, or a 5xx other than 503: the vendor may have sent it.
        if not exc.may_have_been_processed:
            raise  # nothing went out: fail, and the redelivery replies
        log.warning("%s: the reply may have gone out; not sending it again", msg.refid)
    stats["replies"] += 1


@rx.on_message(keyword=OPT_OUT_KEYWORDS)
async def confirm_opt_out(msg: InboundSms) -> None:
    stats["opted_out"] += 1  # a real service records msg.from_ in its database
    await reply(msg, "You are unsubscribed and will get no more messages. Reply START to rejoin.")


@rx.on_message(keyword=HELP_KEYWORDS)
async def help_text(msg: InboundSms) -> None:
    await reply(msg, "Order updates from Example Co. Reply STOP to unsubscribe.")


@rx.on_message()
async def count(msg: InboundSms) -> None:
    stats["received"] += 1


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    async with rx.lifespan():  # a mounted route gets no lifespan of its own
        yield
    await ip.aclose()


app = FastAPI(lifespan=lifespan, routes=[rx.route("/sms")])


@app.get("/stats")
async def get_stats() -> dict[str, int]:
    return stats
