"""Verifiers: shared codes, HMAC variants, Basic auth; rotation and secrecy."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from intelepeer_async import InvalidInputError
from receiver import BasicAuth, HmacSignature, InboundSms, SharedCode


def message(signature: str | None = None, **changes: str) -> InboundSms:
    data = {"refid": "R1", "from": "+13035550100", "to": "+13035550111", "message": "Hi there"}
    data.update(changes)
    if signature is not None:
        data["signature"] = signature
    return InboundSms.model_validate(data)


def test_shared_code_rotation() -> None:
    verifier = SharedCode("old", "new")
    assert verifier.verify(message("old"))
    assert verifier.verify(message("new"))
    assert not verifier.verify(message("older"))
    assert not verifier.verify(message(""))
    assert not verifier.verify(message(None))
    assert "old" not in repr(verifier) and "new" not in repr(verifier)
    with pytest.raises(InvalidInputError):
        SharedCode()
    with pytest.raises(InvalidInputError):
        SharedCode("")


def test_hmac_default_is_hex_sha256_of_refid_and_message() -> None:
    expected = hmac.new(b"k1", b"R1Hi there", hashlib.sha256).hexdigest()
    verifier = HmacSignature("k1")
    assert verifier.verify(message(expected))
    assert verifier.verify(message(expected.upper()))  # hex compared case-insensitively
    assert not verifier.verify(message(expected[:-1] + "0" if expected[-1] != "0" else "1"))
    assert not verifier.verify(message("zz-not-hex"))
    assert not verifier.verify(message(None))
    assert not verifier.verify(message(expected, message="Hi there!"))  # tampered text


@pytest.mark.parametrize(
    ("digest", "encoding", "template", "signed", "encode"),
    [
        ("sha1", "hex", "{refid}{message}", b"R1Hi there", lambda m: m.hex()),
        (
            "sha256",
            "base64",
            "{refid}:{message}",
            b"R1:Hi there",
            lambda m: base64.b64encode(m).decode(),
        ),
        (
            "sha512",
            "base64url",
            "{refid}{from}{to}{message}",
            b"R1+13035550100+13035550111Hi there",
            lambda m: base64.urlsafe_b64encode(m).rstrip(b"=").decode(),
        ),
        (
            "sha256",
            "base64",
            "{message}",
            b"Hi there",
            lambda m: base64.b64encode(m).decode().rstrip("="),
        ),
    ],
)
def test_hmac_is_configurable(
    digest: str, encoding: str, template: str, signed: bytes, encode: object
) -> None:
    mac = hmac.new(b"secret", signed, digest).digest()
    signature = encode(mac)  # type: ignore[operator]
    verifier = HmacSignature("secret", digest=digest, encoding=encoding, template=template)
    assert verifier.signed_text(message()) == signed
    assert verifier.verify(message(signature))
    assert verifier.sign(message(), "secret").rstrip("=") == signature.rstrip("=")


def test_hmac_rotation_and_repr() -> None:
    verifier = HmacSignature("s-old", "s-new")
    for secret in ("s-old", "s-new"):
        assert verifier.verify(message(verifier.sign(message(), secret)))
    assert not verifier.verify(message(verifier.sign(message(), "s-other")))
    assert "s-old" not in repr(verifier) and "s-new" not in repr(verifier)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"digest": "md99"},
        {"encoding": "rot13"},
        {"template": "{refid}{body}"},
        {"template": "no fields"},
    ],
)
def test_hmac_bad_configuration(kwargs: dict[str, str]) -> None:
    with pytest.raises(InvalidInputError):
        HmacSignature("s", **kwargs)


def test_basic_auth() -> None:
    auth = BasicAuth(("u", "p1"), ("u", "p2"))

    def header(text: str) -> dict[str, str]:
        return {"authorization": "Basic " + base64.b64encode(text.encode()).decode()}

    assert auth.verify(header("u:p1")) and auth.verify(header("u:p2"))
    assert not auth.verify(header("u:p3"))
    assert not auth.verify(header("u:p1:extra"))
    assert not auth.verify({})
    assert not auth.verify({"authorization": "Basic"})
    assert "p1" not in repr(auth)
    assert BasicAuth.coerce(("a", "b")) is not None
    assert BasicAuth.coerce(None) is None
    with pytest.raises(InvalidInputError):
        BasicAuth(("u", ""))
    with pytest.raises(InvalidInputError):
        BasicAuth()


def test_inbound_sms_constructs_by_field_name_and_dumps_vendor_names() -> None:
    msg = InboundSms(refid="R9", from_="+13035550100", to="1-1234", message="hi", signature="s")
    assert msg.model_dump(by_alias=True, exclude_none=True) == {
        "refid": "R9",
        "from": "+13035550100",
        "to": "1-1234",
        "message": "hi",
        "signature": "s",
    }
    assert InboundSms.model_validate(msg.model_dump(by_alias=True)) == msg
