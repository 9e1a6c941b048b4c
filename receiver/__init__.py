"""Receive IntelePeer's inbound-SMS webhooks in any ASGI server.

    from receiver import OPT_OUT_KEYWORDS, InboundSms, SharedCode, SmsReceiver

    rx = SmsReceiver(verifier=SharedCode("s3cret"))

    @rx.on_message(keyword=OPT_OUT_KEYWORDS)
    async def stop(msg: InboundSms) -> None: ...

    app = rx.app   # uvicorn module:app; or Starlette(routes=[rx.route("/sms")])

Needs the ``receiver`` extra (starlette). Never imports the client's HTTP stack.
"""

from intelepeer_async.models.inbound import InboundSms

from .app import SmsReceiver
from .dispatch import HELP_KEYWORDS, OPT_OUT_KEYWORDS, Handler, Matcher
from .store import Claim, MemoryStore, MessageStore
from .verify import BasicAuth, HmacSignature, SharedCode, SignatureVerifier

__all__ = [
    "HELP_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "BasicAuth",
    "Claim",
    "Handler",
    "HmacSignature",
    "InboundSms",
    "Matcher",
    "MemoryStore",
    "MessageStore",
    "SharedCode",
    "SignatureVerifier",
    "SmsReceiver",
]
