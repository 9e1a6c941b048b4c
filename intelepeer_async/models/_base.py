"""The base model: keeps fields the vendor adds, accepts names or aliases."""

from __future__ import annotations

import enum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class VendorModel(BaseModel):
    """A response model that survives the vendor adding fields: extras are kept.

    Validators are built on a model's first use (`defer_build`), not when its
    module is imported: importing the SDK stays cheap (issue 10, target 5).
    """

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, coerce_numbers_to_str=True, defer_build=True
    )


class LenientEnum(enum.StrEnum):
    """A string enum whose unknown values become its ``UNKNOWN`` member."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        return cls["UNKNOWN"]


def _whole_number_if_possible(value: object) -> object:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


#: A number field the server may send oddly (``"30"``, ``"30s"``): digits become
#: an int, anything else is kept as received, so reading never fails on it and
#: a read-modify-write sends it back unchanged. `CallFlow.validate` flags it.
LenientInt = Annotated[int | str | None, BeforeValidator(_whole_number_if_possible)]


def _int_or_none(value: object) -> object:
    value = _whole_number_if_possible(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


#: A read-only number field: anything that is not a whole number reads as None
#: (the whole answer stays in the model's `raw`).
IntOrNone = Annotated[int | None, BeforeValidator(_int_or_none)]


def _empty_list_as_map(value: object) -> object:
    # PHP serialises an empty associative array as [], not {}.
    return {} if isinstance(value, list) and not value else value


#: A JSON object the server may send as ``[]`` when empty (PHP).
PhpMap = BeforeValidator(_empty_list_as_map)
