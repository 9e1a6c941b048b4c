"""The inbound-SMS webhook payload IntelePeer POSTs to your receiver."""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictStr, field_validator

from ..types import is_e164, is_short_code

__all__ = ["InboundSms"]


class InboundSms(BaseModel):
    """One inbound SMS: ``{"refid", "from", "to", "message", "signature"}``.

    `from_` is the sender (the JSON key is ``from``). `from_`/`to` are E.164 or
    a short code such as ``1-1234``; values of the wrong JSON type are refused
    rather than coerced. Fields IntelePeer may add later are kept (``model_extra``).
    Phone numbers and text are personal data: the receiver logs them only at DEBUG.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    refid: StrictStr = Field(min_length=1)
    from_: StrictStr = Field(
        validation_alias=AliasChoices("from", "from_"), serialization_alias="from"
    )
    to: StrictStr
    message: StrictStr
    signature: StrictStr | None = None

    @field_validator("from_", "to")
    @classmethod
    def _address(cls, value: str) -> str:
        if not (is_e164(value) or is_short_code(value)):
            raise ValueError("must be E.164 (+13035550100) or a short code (1-1234)")
        return value

    def __repr__(self) -> str:
        # Numbers and text are personal data and the signature may be the
        # account's shared code: a repr that lands in a log shows none of them.
        return f"InboundSms(refid={self.refid!r})"

    def __str__(self) -> str:
        return self.__repr__()

    @property
    def keyword(self) -> str:
        """The first word of the text, upper-cased ("stop please" -> "STOP")."""
        words = self.message.split(maxsplit=1)
        return words[0].upper() if words else ""
