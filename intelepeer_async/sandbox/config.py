"""`SandboxConfig`: the simulated account and the simulator's behaviour, all settable.

Everything has a documented default (the "demo" account), so ``SandboxConfig()``
is a working world. Load a JSON or TOML file with `SandboxConfig.load`, or pass
fields directly; the ``intelepeer sandbox`` flags override a file's values.
Where the vendors' documentation is silent (how long provisioning takes, when an
SMS is delivered, IntelePeer's retry schedule), the value here is an assumption,
said so below, and yours to change.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInputError
from ..types import is_e164, is_short_code, validate_sender
from .clock import LATEST

__all__ = ["DEFAULTS", "Fault", "SandboxConfig"]

FaultKind = Literal[
    "latency", "error", "rate_limit", "drop_before", "drop_after", "duplicate", "out_of_order"
]
#: Fault kinds that act on inbound deliveries rather than on API requests.
DELIVERY_FAULTS = frozenset({"duplicate", "out_of_order"})


class Fault(BaseModel):
    """One injected fault: what it does, which requests it hits, how often.

    Request faults match ``method`` (``*`` for any) and ``path`` (a glob:
    ``/voip/flow/*``) of vendor API requests, never ``/_sandbox/*``:

    - ``latency``: wait `seconds` (real time) before answering; combines with others.
    - ``error``: answer `status` (default 500) with `body` (default an error object),
      without processing the request.
    - ``rate_limit``: answer 429 with ``Retry-After: <retry_after>``, not processed.
    - ``drop_before``: cut the connection before the request is read: not processed.
    - ``drop_after``: process the request (its effect happens), then cut the
      connection instead of answering.

    Delivery faults act on inbound SMS deliveries (``method``/``path`` unused):

    - ``duplicate``: the message is delivered twice, the copy `seconds` later
      (0: both at once, the hardest case for a receiver).
    - ``out_of_order``: the message's first attempt waits `seconds` (virtual), so
      messages sent after it arrive first.

    `probability` (0-1) draws from the simulator's seeded RNG, so a run is
    repeatable; `times` limits the fault to the next N matching events.
    """

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    method: str = "*"
    path: str = "*"
    probability: float = Field(default=1.0, ge=0.0, le=1.0)
    times: int | None = Field(default=None, ge=1)
    seconds: float = Field(default=0.0, ge=0.0, le=3600.0)
    status: int = Field(default=500, ge=400, le=599)
    body: Any = None
    retry_after: float = Field(default=1.0, ge=0.0)

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith(("/", "*")):
            raise ValueError("path must start with '/' (or be '*')")
        return value


def is_sender_id(value: object) -> bool:
    """True for an alphanumeric sender such as ``57-Hello8`` (not a number or short code)."""
    if is_e164(value) or is_short_code(value):
        return False
    try:
        validate_sender(value)
    except InvalidInputError:
        return False
    return True


def _numbers(first: int, count: int) -> list[str]:
    return [f"+1303555{first + i:04d}" for i in range(count)]


class SandboxConfig(BaseModel):
    """The simulated world and its rules. Defaults are the documented demo account.

    Passwords, tokens and signing secrets are left out of its repr.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- IntelePeer account --------------------------------------------------
    username: str = "demo"
    password: str = Field(default="demo", repr=False)
    customer_id: int = 12345678
    #: A long-lived token as copied from the portal: valid until the world ends.
    portal_token: str | None = Field(default="demo-portal-token", repr=False)
    #: Numbers on the account with SMS enabled (webhooks can be set on them).
    sms_numbers: list[str] = Field(default_factory=lambda: _numbers(100, 10))
    #: Numbers on the account without SMS: `provision` enables them.
    other_numbers: list[str] = Field(default_factory=lambda: _numbers(110, 10))
    #: Alphanumeric sender IDs registered on the account (``{countrycode}-{name}``, as
    #: API-FACTS writes them): a send may use one as `from`. An unregistered one answers
    #: 404, like a number that is not on the account.
    sender_ids: list[str] = Field(default_factory=lambda: ["57-Hello8"])
    #: SmartFlow ids that exist; any other flowId answers 404.
    smartflows: list[str] = Field(default_factory=lambda: ["demo-flow"])
    #: v4 token lifetime in (virtual) seconds; IntelePeer documents 24 hours.
    token_lifetime: float = Field(default=86400.0, gt=0)
    #: SmartCommunicator JWT lifetime (``exp - crt``); the doc's example shows 86401.
    smartcomm_token_lifetime: float = Field(default=86401.0, gt=0)
    #: SmartCommunicator tenants (Azure AD tenant ids) registered for the account.
    tenants: list[str] = Field(default_factory=lambda: ["demo-tenant"])
    # The spec contradicts itself: the offboard page heads the refusal "Code 400" and
    # says "Response code 401". 400 by default; 401 exercises the SDK's rule that a 401
    # on a fresh token is the API's own answer (see the README's Authentication section).
    #: Status of an offboard of an agent that is no longer registered.
    offboard_refusal_status: Literal[400, 401] = 400
    #: 10DLC-registered numbers an agent may have; None: the SMS-enabled numbers.
    dlc_numbers: list[str] | None = None
    # Assumption: IntelePeer does not say how fast an SMS moves; these are virtual seconds
    # after the send at which the MDR shows Sent, then DLR:Delivered (when dlr was asked).
    sms_sent_after: float = Field(default=1.0, ge=0)
    sms_delivered_after: float = Field(default=3.0, ge=0)
    #: Destinations whose messages end DLR:Undeliverable instead of DLR:Delivered.
    undeliverable_numbers: list[str] = Field(default_factory=list)
    #: The legacy send page documents 403 for international destinations; off by default.
    allow_international: bool = False
    # Assumption: "takes minutes"; requested for the first half, then provisioning.
    provisioning_seconds: float = Field(default=120.0, ge=0)

    # -- Yay.com reseller ----------------------------------------------------
    yay_reseller: str = "demo"
    yay_user: str = "demo"
    yay_password: str = Field(default="demo", repr=False)
    #: Sub-accounts that ``X-Auth-For`` may name; each has its own call flows.
    yay_sub_accounts: list[str] = Field(default_factory=list)
    #: Lowest call-flow extension that next-extension hands out.
    first_extension: int = Field(default=500, ge=1)

    # -- inbound SMS ---------------------------------------------------------
    #: How inbound messages are signed: the portal's shared code, an HMAC, or not at all.
    signature: Literal["shared_code", "hmac", "none"] = "shared_code"
    shared_code: str = Field(default="demo-shared-code", repr=False)
    hmac_secret: str = Field(default="demo-hmac-secret", repr=False)
    #: Passed to `receiver.HmacSignature` only when set, so its defaults apply otherwise.
    hmac_digest: str | None = None
    hmac_encoding: str | None = None
    hmac_template: str | None = None
    #: IntelePeer: "up to a total of 5 attempts" until HTTP 200.
    max_delivery_attempts: int = Field(default=5, ge=1, le=50)
    # Assumption: the real schedule is not published. Virtual seconds between attempts;
    # the last value repeats if there are more attempts than entries.
    delivery_backoff: list[float] = Field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0])
    #: Real seconds one delivery attempt may take before it counts as failed.
    delivery_timeout: float = Field(default=10.0, gt=0, le=300)
    #: Deliver to non-loopback hosts too (off: only 127.0.0.0/8, ::1 and localhost).
    allow_remote_delivery: bool = False

    # -- the simulator itself -----------------------------------------------
    faults: list[Fault] = Field(default_factory=list)
    #: Seed of the RNG behind fault probabilities and generated ids.
    seed: int = 0
    #: Virtual seconds per real second: 1 follows the wall clock, 0 stands still
    #: (time then moves only with ``POST /_sandbox/clock``).
    clock_rate: float = Field(default=1.0, ge=0)
    #: Virtual epoch time at start; None: now. Before the year 9000 (`clock.LATEST`).
    clock_start: float | None = Field(default=None, ge=0, le=LATEST)
    #: Most requests, messages, triggers and deliveries kept (oldest dropped first).
    history_limit: int = Field(default=50_000, ge=100)
    #: Largest request body accepted (MMS inline media is up to 5 MB before base64).
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)

    @field_validator("sms_numbers", "other_numbers", "undeliverable_numbers")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not (is_e164(v) or is_short_code(v))]
        if bad:
            raise ValueError(f"{len(bad)} value(s) are not E.164 numbers or short codes")
        return values

    @field_validator("sender_ids")
    @classmethod
    def _sender_ids(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if not is_sender_id(v)]
        if bad:
            raise ValueError(f"{len(bad)} value(s) are not alphanumeric sender IDs (57-Hello8)")
        return values

    @field_validator("delivery_backoff")
    @classmethod
    def _backoff(cls, values: list[float]) -> list[float]:
        if not values or any(v < 0 for v in values):
            raise ValueError("delivery_backoff needs at least one delay, none negative")
        return values

    @property
    def account_numbers(self) -> list[str]:
        return [*self.sms_numbers, *self.other_numbers]

    @property
    def registered_dlc_numbers(self) -> list[str]:
        return list(self.sms_numbers if self.dlc_numbers is None else self.dlc_numbers)

    def backoff_after(self, attempt: int) -> float:
        """Virtual seconds between attempt `attempt` (1-based) and the next."""
        return self.delivery_backoff[min(attempt - 1, len(self.delivery_backoff) - 1)]

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> SandboxConfig:
        """Read a ``.json`` or ``.toml`` file; `overrides` win over its values."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(f"cannot read sandbox config {file}: {exc.strerror}") from None
        try:
            data = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise InvalidInputError(f"sandbox config {file} is not valid: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInputError(f"sandbox config {file} must hold an object/table")
        return cls.build({**data, **overrides})

    @classmethod
    def build(cls, data: dict[str, Any]) -> SandboxConfig:
        """Validate `data`; problems become one `InvalidInputError` listing them all."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise InvalidInputError(
                "invalid sandbox config: " + "; ".join(problems), problems
            ) from None


DEFAULTS = SandboxConfig()
