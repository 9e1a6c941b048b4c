"""Receive IntelePeer's inbound-SMS webhooks in any ASGI server.

    from receiver import SmsReceiver, InboundSms, SharedCode

    rx = SmsReceiver(verifier=SharedCode("s3cret"))

    @rx.on_message(keyword="STOP")
    async def stop(msg: InboundSms) -> None: ...

    app = rx.app   # uvicorn module:app, or mount it in Starlette/FastAPI

Needs the ``receiver`` extra (starlette). Never imports the client's HTTP stack.
"""

from intelepeer_async.models.inbound import InboundSms

from .app import SmsReceiver
from .dispatch import Handler, Matcher
from .store import Claim, MemoryStore, MessageStore
from .verify import BasicAuth, HmacSignature, SharedCode, SignatureVerifier

__all__ = [
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
