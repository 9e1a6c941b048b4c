"""The inbound-SMS webhook payload IntelePeer POSTs to your receiver."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictStr

__all__ = ["MAX_ADDRESS_LENGTH", "MAX_REFID_LENGTH", "InboundSms", "first_word"]

#: IntelePeer documents 32-character refids; twice that leaves room for a longer
#: format without letting a sender make every remembered refid 60 KB.
MAX_REFID_LENGTH = 64
#: Longer than any phone number, short code or sender name, however formatted.
MAX_ADDRESS_LENGTH = 64


def _trim(word: str) -> str:
    """`word` without the punctuation (or symbols) around it: ``"¡Stop!"`` -> ``"Stop"``."""
    start, end = 0, len(word)
    while start < end and not word[start].isalnum():
        start += 1
    while end > start and not word[end - 1].isalnum():
        end -= 1
    return word[start:end]


def first_word(text: str) -> str:
    """The first word of `text`, without surrounding punctuation, upper-cased.

    ``"Stop."``, ``"STOP!"`` and ``"  stop please"`` all give ``"STOP"``; a token
    of punctuation alone (``"..."``) is not a word and is skipped.
    """
    for token in text.split():
        word = _trim(token)
        if word:
            return word.upper()
    return ""


class InboundSms(BaseModel):
    """One inbound SMS: ``{"refid", "from", "to", "message", "signature"}``.

    `from_` is the sender (the JSON key is ``from``). Each field must be a JSON
    string (no coercion). A message IntelePeer gives up on after 5 refusals is
    lost, so only what verification and dedup need is enforced: `refid` is 1 to
    `MAX_REFID_LENGTH` printable ASCII characters (it is a storage key and is
    logged), `from_`/`to` are 1 to `MAX_ADDRESS_LENGTH` characters in any format
    (``+13035550100``, ``13035550100``, ``+1 303 555 0100``, ``1-1234``,
    ``57-Hello8``), kept exactly as sent. Fields IntelePeer may add later are
    kept (``model_extra``). Phone numbers and text are personal data: the
    receiver logs them only at DEBUG.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    refid: StrictStr = Field(min_length=1, max_length=MAX_REFID_LENGTH, pattern=r"^[!-~]+$")
    from_: StrictStr = Field(
        min_length=1,
        max_length=MAX_ADDRESS_LENGTH,
        validation_alias=AliasChoices("from", "from_"),
        serialization_alias="from",
    )
    to: StrictStr = Field(min_length=1, max_length=MAX_ADDRESS_LENGTH)
    message: StrictStr
    signature: StrictStr | None = None

    def __repr__(self) -> str:
        # Numbers and text are personal data and the signature may be the
        # account's shared code: a repr that lands in a log shows none of them.
        return f"InboundSms(refid={self.refid!r})"

    def __str__(self) -> str:
        return self.__repr__()

    @property
    def keyword(self) -> str:
        """The text's first word without surrounding punctuation, upper-cased
        (``"Stop."`` -> ``"STOP"``); ``""`` when the text has no word."""
        return first_word(self.message)
