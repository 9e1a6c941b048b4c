"""Verifiers: shared codes, HMAC variants, Basic auth; rotation and secrecy."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from intelepeer_async import InvalidInputError
from receiver import BasicAuth, HmacSignature, InboundSms, SharedCode


def message(signature: str | None = None, **changes: str) -> InboundSms:
    data = {"refid": "R1", "from_": "+13035550100", "to": "+13035550111", "message": "Hi there"}
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


def netstrings(*fields: str) -> bytes:
    return b"".join(b"%d:%s," % (len(f.encode()), f.encode()) for f in fields)


def test_hmac_default_is_hex_sha256_of_netstrings_of_refid_from_to_message() -> None:
    signed = b"2:R1,12:+13035550100,12:+13035550111,8:Hi there,"
    assert netstrings("R1", "+13035550100", "+13035550111", "Hi there") == signed
    expected = hmac.new(b"k1", signed, hashlib.sha256).hexdigest()
    verifier = HmacSignature("k1")
    assert verifier.signed_text(message()) == signed
    assert verifier.sign(message(), "k1") == expected
    assert verifier.verify(message(expected))
    assert verifier.verify(message(expected.upper()))  # hex compared case-insensitively
    assert not verifier.verify(message(expected[:-1] + "0" if expected[-1] != "0" else "1"))
    assert not verifier.verify(message("zz-not-hex"))
    assert not verifier.verify(message(None))
    assert not verifier.verify(message(expected, message="Hi there!"))  # tampered text


def test_hmac_default_cannot_be_shifted_or_resent_from_another_number() -> None:
    """Issue 9 item 4: three forgeries made from one genuine message are refused."""
    verifier = HmacSignature("k1")
    genuine = message(refid="ABCDEF1234567890ABCDEF1234567890", message="Hello World!")
    signature = verifier.sign(genuine, "k1")
    assert verifier.verify(genuine.model_copy(update={"signature": signature}))
    forgeries = [
        # the refid's last characters moved into the text: same concatenation
        {"refid": "ABCDEF1234567890ABCDEF12345678", "message": "90Hello World!"},
        {"from_": "+19995550100"},  # any sender
        {"to": "+19995550111"},  # another of the account's numbers
        # a field boundary moved between from and to
        {"from_": "+1303555010", "to": "0+13035550111"},
    ]
    for changes in forgeries:
        forged = genuine.model_copy(update={**changes, "signature": signature})
        assert not verifier.verify(forged), changes


def test_verifiers_never_raise_on_text_that_is_not_valid_unicode() -> None:
    lone = "x\ud800"
    shared = SharedCode("code")
    hmac_verifier = HmacSignature("k1")
    assert not shared.verify(message(lone))
    for field in ("refid", "from_", "to", "message"):
        # Parsing refuses such text (400); a message built in code skips that check.
        odd = message("00").model_copy(update={field: lone})
        assert not hmac_verifier.verify(odd)
        signed = odd.model_copy(update={"signature": hmac_verifier.sign(odd, "k1")})
        assert hmac_verifier.verify(signed)


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
