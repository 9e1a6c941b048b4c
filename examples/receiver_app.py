"""A complete inbound-SMS service, configured from the environment.

    SMS_SHARED_CODE=... SMS_WEBHOOK_USER=... SMS_WEBHOOK_PASSWORD=... \\
        uvicorn examples.receiver_app:app --host 0.0.0.0 --port 8000

SMS_SHARED_CODE may list several codes separated by commas (rotation). Point the
numbers' webhook at ``https://user:password@your.host/sms`` (any path works).
Opt-outs (STOP, UNSUBSCRIBE, ... however punctuated) and START are printed here;
a real service would record them.
"""

from __future__ import annotations

import logging
import os

from receiver import OPT_OUT_KEYWORDS, InboundSms, SharedCode, SmsReceiver

logging.basicConfig(level=logging.INFO)

codes = [c for c in os.environ.get("SMS_SHARED_CODE", "").split(",") if c]
user, password = os.environ.get("SMS_WEBHOOK_USER"), os.environ.get("SMS_WEBHOOK_PASSWORD")

rx = SmsReceiver(
    verifier=SharedCode(*codes) if codes else None,
    basic_auth=(user, password) if user and password else None,
)
opted_out: set[str] = set()


@rx.on_message(keyword=OPT_OUT_KEYWORDS)
async def stop(msg: InboundSms) -> None:
    opted_out.add(msg.from_)
    print(f"{msg.refid}: sender opted out")


@rx.on_message(keyword="START")
async def start(msg: InboundSms) -> None:
    opted_out.discard(msg.from_)
    print(f"{msg.refid}: sender opted back in")


@rx.on_message()
async def record(msg: InboundSms) -> None:
    print(f"{msg.refid}: {len(msg.message)} characters to {msg.to}")


app = rx.app
