"""Is this webhook really from IntelePeer? Basic auth and the body's ``signature``.

IntelePeer documents two protections, usable together:

1. Basic-auth credentials embedded in the webhook URL (``https://user:pass@host/``),
   which arrive as an ``Authorization: Basic`` header: `BasicAuth`.
2. A ``signature`` field in the JSON body. The original page calls it "the
   shared code configured in the Customer Portal" (`SharedCode`); a newer page
   says that with an account secret it is an HMAC "derived from the message's
   refid, the message body and the account secret", without saying how.
   `HmacSignature` therefore makes digest, encoding and the signed text
   configurable; the defaults are an assumption to check against a real message.

Every comparison is constant-time, and each verifier takes several secrets so
they can be rotated without downtime. Reprs never show a secret. A verifier
never raises on odd text: strings are turned into bytes as UTF-8, with lone
surrogates (which the receiver refuses before verifying) encoded as is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import string
from collections.abc import Iterable, Mapping
from typing import Protocol

from intelepeer_async.errors import InvalidInputError
from intelepeer_async.models.inbound import InboundSms
from intelepeer_async.types import Secret

__all__ = ["BasicAuth", "HmacSignature", "SharedCode", "SignatureVerifier"]


class SignatureVerifier(Protocol):
    """Decides whether a parsed message's ``signature`` is genuine."""

    def verify(self, message: InboundSms) -> bool: ...


def _secrets(values: Iterable[str], what: str) -> tuple[Secret, ...]:
    secrets = tuple(Secret(v) for v in values if isinstance(v, str) and v)
    if not secrets:
        raise InvalidInputError(f"{what} needs at least one non-empty secret")
    return secrets


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _netstring(value: bytes) -> bytes:
    return b"%d:%s," % (len(value), value)


def _matches_any(candidate: bytes, expected: Iterable[bytes]) -> bool:
    # Compare against every secret, without stopping early, so timing does not
    # tell which (or whether an earlier) one matched.
    found = False
    for value in expected:
        found |= hmac.compare_digest(candidate, value)
    return found


class SharedCode:
    """The ``signature`` equals one of the shared codes set in the Customer Portal."""

    def __init__(self, *codes: str) -> None:
        self._codes = _secrets(codes, "SharedCode")

    def verify(self, message: InboundSms) -> bool:
        if message.signature is None:
            return False
        return _matches_any(_utf8(message.signature), (_utf8(c.reveal()) for c in self._codes))

    def __repr__(self) -> str:
        return f"SharedCode(<{len(self._codes)} secret(s)>)"


_ENCODINGS = ("hex", "base64", "base64url")
_TEMPLATE_FIELDS = frozenset({"refid", "message", "from", "from_", "to"})
#: What the default derivation signs, in this order.
SIGNED_FIELDS = ("refid", "from", "to", "message")


class HmacSignature:
    """The ``signature`` is an HMAC of the message under one of the account secrets.

    By default (``template=None``) the MAC covers `SIGNED_FIELDS`, each as a
    netstring of its UTF-8 bytes (``<byte length>:<bytes>,``), concatenated::

        32:ABCDEF1234567890ABCDEF1234567890,12:+7708675309,12:+13038675309,12:Hello World!,

    Length prefixes make the split unambiguous: no text can be moved from one
    field into another, and the sender and recipient are covered too.
    `template` replaces that with a text of your own, with ``{refid}``,
    ``{message}``, ``{from}`` (or ``{from_}``) and ``{to}`` filled in and signed
    as UTF-8; it is exactly as unambiguous as its delimiters (``"{refid}{message}"``
    lets a forger move characters between refid and text). `digest` is any
    hashlib name; `encoding` how the MAC is written: ``hex`` (compared
    case-insensitively), ``base64`` or ``base64url`` (padding optional).
    IntelePeer does not publish its derivation: check these settings against
    one real message.
    """

    def __init__(
        self,
        *secrets: str,
        digest: str = "sha256",
        encoding: str = "hex",
        template: str | None = None,
    ) -> None:
        self._secrets = _secrets(secrets, "HmacSignature")
        try:
            hashlib.new(digest)
        except (ValueError, TypeError):
            raise InvalidInputError(f"unknown digest {digest!r}") from None
        if encoding not in _ENCODINGS:
            raise InvalidInputError(f"encoding must be one of {', '.join(_ENCODINGS)}")
        if template is not None:
            try:
                parsed = list(string.Formatter().parse(template))
            except (ValueError, TypeError):
                parsed = []
            fields = {name for _, name, _, _ in parsed if name is not None}
            if not fields or not fields <= _TEMPLATE_FIELDS:
                raise InvalidInputError(
                    "template may use only {refid}, {message}, {from}, {from_} and {to}"
                )
        self.digest = digest
        self.encoding = encoding
        self.template = template

    def signed_text(self, message: InboundSms) -> bytes:
        """The bytes the MAC is computed over, for this message."""
        values = {
            "refid": message.refid,
            "message": message.message,
            "from": message.from_,
            "from_": message.from_,
            "to": message.to,
        }
        if self.template is None:
            return b"".join(_netstring(_utf8(values[name])) for name in SIGNED_FIELDS)
        return _utf8(self.template.format_map(values))

    def sign(self, message: InboundSms, secret: str) -> str:
        """The signature IntelePeer would send under `secret` (for tests and simulators)."""
        mac = hmac.new(_utf8(secret), self.signed_text(message), self.digest).digest()
        if self.encoding == "hex":
            return mac.hex()
        if self.encoding == "base64":
            return base64.b64encode(mac).decode()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _decode(self, signature: str) -> bytes | None:
        text = signature.strip()
        try:
            if self.encoding == "hex":
                return bytes.fromhex(text)
            padded = text + "=" * (-len(text) % 4)
            if self.encoding == "base64":
                return base64.b64decode(padded, validate=True)
            return base64.urlsafe_b64decode(padded)
        except (ValueError, binascii.Error):
            return None

    def verify(self, message: InboundSms) -> bool:
        if message.signature is None:
            return False
        received = self._decode(message.signature)
        if received is None:
            return False
        text = self.signed_text(message)
        expected = (hmac.new(_utf8(s.reveal()), text, self.digest).digest() for s in self._secrets)
        return _matches_any(received, expected)

    def __repr__(self) -> str:
        return (
            f"HmacSignature(<{len(self._secrets)} secret(s)>, digest={self.digest!r}, "
            f"encoding={self.encoding!r}, template={self.template!r})"
        )


class BasicAuth:
    """Checks the ``Authorization: Basic`` header against one or more user/password pairs."""

    def __init__(self, *pairs: tuple[str, str]) -> None:
        if not pairs:
            raise InvalidInputError("basic_auth needs at least one (user, password) pair")
        expected: list[Secret] = []
        for pair in pairs:
            if (
                not isinstance(pair, tuple)
                or len(pair) != 2
                or not all(isinstance(p, str) and p for p in pair)
            ):
                raise InvalidInputError("basic_auth takes (user, password) pairs of non-empty str")
            expected.append(Secret(f"{pair[0]}:{pair[1]}"))
        self._expected = tuple(expected)

    @classmethod
    def coerce(
        cls, value: BasicAuth | tuple[str, str] | Iterable[tuple[str, str]] | None
    ) -> BasicAuth | None:
        """From a pair, a list of pairs (rotation), or a `BasicAuth`."""
        if value is None or isinstance(value, BasicAuth):
            return value
        if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return cls(value)  # type: ignore[arg-type]
        return cls(*value)

    def verify(self, headers: Mapping[str, str]) -> bool:
        header = headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            return False
        try:
            presented = base64.b64decode(encoded.strip(), validate=True)
        except (ValueError, binascii.Error):
            return False
        return _matches_any(presented, (_utf8(e.reveal()) for e in self._expected))

    def __repr__(self) -> str:
        return f"BasicAuth(<{len(self._expected)} credential(s)>)"
