"""The base model: keeps fields the vendor adds, accepts names or aliases."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, ConfigDict


class VendorModel(BaseModel):
    """A response model that survives the vendor adding fields: extras are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class LenientEnum(enum.StrEnum):
    """A string enum whose unknown values become its ``UNKNOWN`` member."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value == value.strip().lower():
                    return member
        return cls["UNKNOWN"]
