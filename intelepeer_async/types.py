"""Shared value types: phone-number formats, secrets and timeouts.

Validation here runs before any request is sent, so a malformed number costs the
user an `InvalidInputError`, not a billed API call.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .errors import InvalidInputError

__all__ = [
    "Secret",
    "Timeout",
    "is_e164",
    "is_finite_number",
    "is_short_code",
    "is_unicode",
    "not_unicode",
    "validate_address",
    "validate_credential",
    "validate_e164",
    "validate_sender",
    "validate_text",
]

# "+" then 2 to 15 digits, the first not 0 (ITU-T E.164).
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# IntelePeer writes short codes as "{countrycode}-{shortcode}", e.g. "1-12345".
_SHORT_CODE = re.compile(r"[1-9][0-9]{0,2}-[0-9]{3,8}")
# Alphanumeric sender IDs: "{countrycode}-{name}", e.g. "57-Hello8"; at most 11
# characters and at least one letter (else it would be a short code).
_ALPHANUMERIC_SENDER = re.compile(r"[1-9][0-9]{0,2}-(?=[A-Za-z0-9 ]*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def is_e164(value: object) -> bool:
    """True when `value` is a string in E.164 form (``+`` then 2-15 digits)."""
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def is_short_code(value: object) -> bool:
    """True when `value` is an IntelePeer short code such as ``1-12345``."""
    return isinstance(value, str) and _SHORT_CODE.fullmatch(value) is not None


def _describe(value: object) -> str:
    # Phone numbers are personal data: error messages say what is wrong with a
    # value, not the value itself.
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    return f"a string of {len(value)} characters"


def is_unicode(value: str) -> bool:
    """True when `value` can be sent as UTF-8: it holds no lone surrogate, which is
    what ``os.environ``, ``sys.argv`` and file names give for bytes that are not UTF-8."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def not_unicode(field: str) -> InvalidInputError:
    """The error for a `field` that `is_unicode` refused; it never quotes the value."""
    return InvalidInputError(
        f"{field} is not valid Unicode text (it holds a lone surrogate, as bytes"
        " that are not UTF-8 become in the environment or a file name)"
    )


def validate_text(value: object, field: str) -> str:
    """Return `value` if it is a string with something besides white space."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{field} must be a non-empty string")
    if not is_unicode(value):
        raise not_unicode(field)
    return value


def is_finite_number(value: object) -> bool:
    """True for an int or a finite float (not a bool): a number JSON can carry."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_SAFE = re.compile(r"[\x20-\x7e]+")


def validate_credential(value: object, field: str, *, in_header: bool, spaces: bool = True) -> str:
    """Return `value` if it can be sent as a credential; the error names `field`, never the value.

    Every credential is a non-empty string of valid Unicode (`is_unicode`)
    without control characters (a trailing newline from a file is a
    classic). One sent in a header must also be printable ASCII, without
    spaces at either end (the wire would lose them); `spaces=False` refuses
    spaces anywhere (tokens).
    """
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{field} must be a non-empty string")
    if _CONTROL.search(value):
        raise InvalidInputError(f"{field} contains a control character (a stray newline?)")
    if not is_unicode(value):
        raise not_unicode(field)
    if in_header:
        if not _HEADER_SAFE.fullmatch(value):
            raise InvalidInputError(
                f"{field} must be printable ASCII: it is sent in an HTTP header"
            )
        if value != value.strip() or (not spaces and " " in value):
            where = "at either end" if spaces else "anywhere"
            raise InvalidInputError(f"{field} must not contain spaces {where}")
    return value


def validate_e164(value: object, field: str) -> str:
    """Return `value` if it is E.164, else raise `InvalidInputError` naming `field`."""
    if not is_e164(value):
        raise InvalidInputError(
            f"{field} must be an E.164 number ('+' then 2-15 digits, no leading 0); "
            f"got {_describe(value)}"
        )
    assert isinstance(value, str)
    return value


def validate_address(value: object, field: str) -> str:
    """Accept E.164 or a short code (the forms inbound SMS and webhooks use)."""
    if not (is_e164(value) or is_short_code(value)):
        raise InvalidInputError(
            f"{field} must be E.164 (+13035550100) or a short code (1-12345); "
            f"got {_describe(value)}"
        )
    assert isinstance(value, str)
    return value


def validate_sender(value: object, field: str = "from_") -> str:
    """Accept E.164, a short code, or an alphanumeric sender such as ``57-Hello8``."""
    if is_e164(value) or is_short_code(value):
        assert isinstance(value, str)
        return value
    if isinstance(value, str) and _ALPHANUMERIC_SENDER.fullmatch(value):
        return value
    raise InvalidInputError(
        f"{field} must be E.164 (+13035550100), a short code (1-12345) or an "
        f"alphanumeric sender (57-Hello8); got {_describe(value)}"
    )


class Secret:
    """A string that never shows itself in a repr, str or log line.

    Passwords, tokens and webhook secrets are held in this wrapper so that a
    stray ``print(client)`` or a traceback's locals cannot leak them.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a secret must be a str")
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call only where it is sent over the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


_DEFAULT_CONNECT = 5.0


@dataclass(frozen=True)
class Timeout:
    """How long one API call may take.

    `total` bounds the whole call, retries and their back-off included: a call
    returns or raises within about `total` seconds. `connect` bounds opening
    each connection, so a dead host fails fast and can be retried in budget.
    There is deliberately no "wait forever": both must be finite and positive.
    """

    total: float = 30.0
    connect: float = _DEFAULT_CONNECT

    def __post_init__(self) -> None:
        for name in ("total", "connect"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(f"Timeout.{name} must be a number of seconds")
            if not math.isfinite(value) or value <= 0:
                raise InvalidInputError(f"Timeout.{name} must be finite and > 0, got {value!r}")

    @classmethod
    def coerce(cls, value: float | Timeout) -> Timeout:
        """A `Timeout` from a number of seconds (connect capped at 5 s) or a `Timeout`."""
        if isinstance(value, Timeout):
            return value
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(
                "timeout must be a number of seconds or a Timeout; None (no limit) is not allowed"
            )
        total = float(value)
        return cls(total=total, connect=min(_DEFAULT_CONNECT, total))
