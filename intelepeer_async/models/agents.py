"""SmartCommunicator agent models."""

from __future__ import annotations

import enum
from typing import Any

from ._base import VendorModel

__all__ = ["Agent", "AgentStatus", "OffboardResult", "OnboardResult"]


class AgentStatus(enum.StrEnum):
    """Known agent statuses. `Agent.status` stays a plain string, so values the
    docs disagree on ("offboarded" vs "orphaned") or add later still parse;
    compare with these (``agent.status == AgentStatus.ACTIVE``).
    """

    ACTIVE = "active"
    OFFBOARDED = "offboarded"
    ORPHANED = "orphaned"


class Agent(VendorModel):
    """One SmartCommunicator agent; every field optional, since lists omit some."""

    user_object_id: str | None = None
    tenant_id: str | None = None
    phone_number: str | None = None
    consistency_id: str | None = None
    upn: str | None = None
    status: str | None = None
    customer_id: int | str | None = None


class OnboardResult(VendorModel):
    """``{"data": {"message": "Onboarded Successfully"}, "error": null}``."""

    message: str | None = None
    raw: Any = None


class OffboardResult(VendorModel):
    """``{"status": "ok"}``.

    `already_gone` is True when a retried offboard was answered that the agent
    is not there (404, or 400/401 "not registered") after an earlier attempt
    may have offboarded it: counted as done, and `raw` is that answer.
    """

    status: str | None = None
    raw: Any = None
    already_gone: bool = False
