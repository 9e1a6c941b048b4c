"""`World`: everything the simulated vendors remember, in memory.

Numbers (SMS-enabled or not, provisioning, webhook), issued tokens, sent
messages, flow triggers, inbound messages, SmartCommunicator agents and Yay.com
call flows. Time-dependent states (token expiry, message status, provisioning)
are computed from timestamps on the `VirtualClock` when read, never by a
background job. The route modules hold the API rules; this module holds data.
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import VirtualClock, iso
from .config import DEFAULTS, SandboxConfig

__all__ = [
    "AgentRecord",
    "InboundMessage",
    "Number",
    "OutboundMessage",
    "TokenStatus",
    "World",
    "new_refid",
    "redact_url",
    "shown",
]

TokenStatus = Literal["valid", "expired", "unknown"]

# Assumption: only "Queued" -> 0 is documented; the other RCC numbers are ours.
RCC = {"Queued": 0, "Sent": 2, "DLR:Delivered": 3, "DLR:Undeliverable": 4}


def new_refid() -> str:
    """A fresh 32-character message id, like IntelePeer's (``ABCDEF12...``).

    Random rather than seeded: a restarted simulator must never repeat a refid
    that a receiver's durable store remembers as handled.
    """
    return secrets.token_hex(16).upper()


def shown(value: str, default: str) -> str:
    """`value` if it is the documented demo default, else masked."""
    return value if value == default else "********"


#: A URL's scheme and authority (``user:password@host:port``), wherever it is in a text.
_URL_AUTHORITY = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^/?#\s\"'<>]*)")


def _mask_userinfo(match: re.Match[str]) -> str:
    scheme, authority = match.groups()
    userinfo, at, host = authority.rpartition("@")  # a password may hold an "@"
    if not at or ":" not in userinfo:
        return match.group(0)
    return f"{scheme}{userinfo.partition(':')[0]}:********@{host}"


def mask_url_passwords(text: str) -> str:
    """`text` with the password of every URL in it masked: ``user:********@host``.

    A regular expression, not `urlsplit`: it never raises on a malformed URL,
    and it finds URLs inside a longer text (a plain-text request body).
    """
    return _URL_AUTHORITY.sub(_mask_userinfo, text) if "@" in text else text


def redact_url(url: str | None) -> str | None:
    """A webhook URL with any password in its userinfo masked."""
    return None if url is None else mask_url_passwords(url)


@dataclass
class Number:
    """A number on the account: SMS on or off, its provisioning and webhook."""

    number: str
    sms_enabled: bool
    requested_at: float | None = None
    webhook: str | None = None


@dataclass
class OutboundMessage:
    """An SMS or MMS sent through the API; its status follows from `created_at`."""

    refid: str
    from_: str
    to: str
    text: str
    created_at: float
    guid: str | None = None
    dlr: bool = False
    media: int = 0

    def status(self, now: float, config: SandboxConfig) -> str:
        """``RCC_en`` at `now`: Queued, then Sent, then a delivery receipt if asked for."""
        age = now - self.created_at
        if age < config.sms_sent_after:
            return "Queued"
        if not self.dlr or age < max(config.sms_delivered_after, config.sms_sent_after):
            return "Sent"
        if self.to in config.undeliverable_numbers:
            return "DLR:Undeliverable"
        return "DLR:Delivered"

    def view(self, now: float, config: SandboxConfig) -> dict[str, Any]:
        return {
            "refid": self.refid,
            "kind": "mms" if self.media else "sms",
            "from": self.from_,
            "to": self.to,
            "text": self.text,
            "guid": self.guid,
            "dlr": self.dlr,
            "media": self.media,
            "created_at": iso(self.created_at),
            "status": self.status(now, config),
        }


@dataclass
class InboundMessage:
    """An SMS "received" on an account number, to be POSTed to its webhook."""

    refid: str
    from_: str
    to: str
    text: str
    received_at: float

    def view(self) -> dict[str, Any]:
        return {
            "refid": self.refid,
            "from": self.from_,
            "to": self.to,
            "message": self.text,
            "received_at": iso(self.received_at),
        }


@dataclass
class AgentRecord:
    """A SmartCommunicator agent; `status` is "active" or "offboarded"."""

    agent_id: str
    user_object_id: str
    tenant_id: str
    phone_number: str
    consistency_id: str | None = None
    upn: str | None = None
    status: str = "active"

    @property
    def active(self) -> bool:
        return self.status == "active"

    def view(self) -> dict[str, Any]:
        """As the seed shows agents: optional fields only when set."""
        body: dict[str, Any] = {
            "agent_id": self.agent_id,
            "user_object_id": self.user_object_id,
            "tenant_id": self.tenant_id,
            "phone_number": self.phone_number,
        }
        if self.consistency_id is not None:
            body["consistency_id"] = self.consistency_id
        if self.upn is not None:
            body["upn"] = self.upn
        body["status"] = self.status
        return body


def _trim(items: OrderedDict[str, Any], limit: int) -> None:
    while len(items) > limit:
        items.popitem(last=False)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class World:
    """The simulated account's data. Not thread-safe: use it from one event loop."""

    config: SandboxConfig = DEFAULTS
    clock: VirtualClock = field(default_factory=VirtualClock)
    numbers: dict[str, Number] = field(default_factory=dict)
    v4_tokens: dict[str, float] = field(default_factory=dict)
    smartcomm_tokens: dict[str, float] = field(default_factory=dict)
    messages: OrderedDict[str, OutboundMessage] = field(default_factory=OrderedDict)
    inbound: OrderedDict[str, InboundMessage] = field(default_factory=OrderedDict)
    triggers: deque[dict[str, Any]] = field(default_factory=deque)
    agents: list[AgentRecord] = field(default_factory=list)
    #: Yay.com call flows per account ("" is the reseller's own), by uuid.
    flows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for number in self.config.sms_numbers:
            self.numbers[number] = Number(number, sms_enabled=True)
        for number in self.config.other_numbers:
            self.numbers.setdefault(number, Number(number, sms_enabled=False))
        if self.config.portal_token:
            self.v4_tokens[self.config.portal_token] = math.inf

    def now(self) -> float:
        return self.clock.now()

    # -- numbers ----------------------------------------------------------------

    def provisioning_state(self, number: Number) -> str | None:
        """requested, provisioning, provisioned; None when SMS was never asked for."""
        if number.sms_enabled:
            return "provisioned"
        if number.requested_at is None:
            return None
        age = self.now() - number.requested_at
        duration = self.config.provisioning_seconds
        if age >= duration:
            number.sms_enabled = True
            return "provisioned"
        return "requested" if age < duration / 2 else "provisioning"

    def sms_ready(self, number: Number) -> bool:
        return self.provisioning_state(number) == "provisioned"

    # -- tokens -----------------------------------------------------------------

    def issue_v4_token(self) -> str:
        """An opaque token (letters, digits, ``-`` and ``_``) valid for `token_lifetime`."""
        self._forget_old(self.v4_tokens)
        token = secrets.token_urlsafe(32)
        self.v4_tokens[token] = self.now() + self.config.token_lifetime
        return token

    def issue_smartcomm_token(self) -> str:
        """A JWT shaped like SmartCommunicator's: claims aid, cid, crt, exp, uid, src.

        The signature part is random bytes: the real one is RS256 under a key
        nobody outside IntelePeer has, so clients cannot check it either way.
        """
        self._forget_old(self.smartcomm_tokens)
        created = int(self.now())
        expires = created + round(self.config.smartcomm_token_lifetime)
        claims = {
            "aid": 0,
            "cid": self.config.customer_id,
            "crt": created,
            "exp": expires,
            "uid": self.config.username,
            "src": "api-gtw",
        }
        header = _b64url(json.dumps({"alg": "RS256"}, separators=(",", ":")).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        token = f"{header}.{payload}.{_b64url(secrets.token_bytes(64))}"
        self.smartcomm_tokens[token] = float(expires)
        return token

    def token_status(self, tokens: dict[str, float], token: str) -> TokenStatus:
        expires = tokens.get(token)
        if expires is None:
            return "unknown"
        return "valid" if self.now() < expires else "expired"

    def _forget_old(self, tokens: dict[str, float]) -> None:
        # Expired tokens are kept a while (to answer "expired" rather than
        # "unknown"), then dropped so that a login loop cannot grow memory.
        if len(tokens) < 1000:
            return
        cutoff = self.now() - 7 * 86400
        for token in [t for t, exp in tokens.items() if exp < cutoff]:
            del tokens[token]

    # -- history ----------------------------------------------------------------

    def add_message(self, message: OutboundMessage) -> None:
        self.messages[message.refid] = message
        _trim(self.messages, self.config.history_limit)

    def add_inbound(self, message: InboundMessage) -> None:
        self.inbound[message.refid] = message
        _trim(self.inbound, self.config.history_limit)

    def add_trigger(self, trigger: dict[str, Any]) -> None:
        self.triggers.append(trigger)
        while len(self.triggers) > self.config.history_limit:
            self.triggers.popleft()

    def flows_of(self, account: str) -> dict[str, dict[str, Any]]:
        return self.flows.setdefault(account, {})

    # -- the view at GET /_sandbox/state ---------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything, with no secret but the documented demo ones."""
        now = self.now()
        c = self.config
        valid = [t for t in self.v4_tokens.values() if t > now]
        return {
            "now": now,
            "now_iso": iso(now),
            "clock_rate": self.clock.rate,
            "account": {
                "username": c.username,
                "password": shown(c.password, DEFAULTS.password),
                "customer_id": c.customer_id,
                "portal_token": shown(c.portal_token, DEFAULTS.portal_token or "")
                if c.portal_token
                else None,
                "smartflows": list(c.smartflows),
                "tenants": list(c.tenants),
                "dlc_numbers": c.registered_dlc_numbers,
                "active_tokens": {
                    "v4": len(valid),
                    "smartcomm": sum(1 for t in self.smartcomm_tokens.values() if t > now),
                },
            },
            "numbers": [
                {
                    "number": n.number,
                    "sms_enabled": self.sms_ready(n),
                    "provisioning": self.provisioning_state(n),
                    "webhook": redact_url(n.webhook),
                }
                for n in self.numbers.values()
            ],
            "messages": [m.view(now, c) for m in self.messages.values()],
            "inbound": [m.view() for m in self.inbound.values()],
            "triggers": list(self.triggers),
            "agents": [a.view() for a in self.agents],
            "yay": {
                "reseller": c.yay_reseller,
                "user": c.yay_user,
                "password": shown(c.yay_password, DEFAULTS.yay_password),
                "sub_accounts": list(c.yay_sub_accounts),
                "callflows": {
                    account or "(reseller)": list(flows.values())
                    for account, flows in self.flows.items()
                },
            },
            "inbound_signing": {
                "signature": c.signature,
                "shared_code": shown(c.shared_code, DEFAULTS.shared_code),
                "hmac_secret": shown(c.hmac_secret, DEFAULTS.hmac_secret),
            },
        }
