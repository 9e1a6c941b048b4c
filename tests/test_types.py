"""Phone-number formats and secrets."""

from __future__ import annotations

import pytest

from intelepeer_async import InvalidInputError, Secret
from intelepeer_async.types import (
    is_e164,
    is_short_code,
    validate_address,
    validate_e164,
    validate_sender,
)


@pytest.mark.parametrize("good", ["+12", "+13035550100", "+" + "9" * 15, "+447700900123"])
def test_e164_accepts(good: str) -> None:
    assert is_e164(good)
    assert validate_e164(good, "to") == good


@pytest.mark.parametrize(
    "bad", ["13035550100", "+0123456", "+1", "+" + "1" * 16, "+1 303 555", "", None, 13035550100]
)
def test_e164_rejects_without_echoing_the_value(bad: object) -> None:
    assert not is_e164(bad)
    with pytest.raises(InvalidInputError) as info:
        validate_e164(bad, "to")
    assert "to must be an E.164" in str(info.value)
    if isinstance(bad, str) and bad:
        assert bad not in str(info.value)


def test_short_codes_and_senders() -> None:
    assert is_short_code("1-1234") and is_short_code("1-12345")
    assert not is_short_code("1-12") and not is_short_code("12345")
    assert validate_address("1-1234", "from") == "1-1234"
    assert validate_sender("57-Hello8") == "57-Hello8"
    assert validate_sender("1-12345") == "1-12345"
    for bad in ("57-", "Hello", "57-ThisIsWayTooLong", "57-12", "+0"):
        with pytest.raises(InvalidInputError):
            validate_sender(bad)
    with pytest.raises(InvalidInputError):
        validate_address("57-Hello8", "from")


def test_secret_never_shows() -> None:
    s = Secret("p@ss")
    assert "p@ss" not in repr(s) and "p@ss" not in str(s) and "p@ss" not in f"{s}"
    assert s.reveal() == "p@ss"
    assert s == Secret("p@ss") and s != Secret("other")
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]
