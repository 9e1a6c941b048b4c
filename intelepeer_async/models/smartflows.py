"""SmartFlows trigger result."""

from __future__ import annotations

from typing import Any

from ._base import VendorModel

__all__ = ["TriggerResult"]


class TriggerResult(VendorModel):
    """The answer to a trigger: HTTP 202 with a body documented as ``true``.

    `accepted` is False only if a success status came with a ``false`` body.
    """

    accepted: bool
    status_code: int
    raw: Any = None
