"""Trigger a SmartFlow from outside (the flow's "Inbound API" trigger)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from ..models.smartflows import TriggerResult
from ..types import validate_e164, validate_text

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer

__all__ = ["SmartFlows"]

_RESERVED = frozenset({"flowId", "ANI", "DNIS"})
VariableValue = str | int | float | bool


class SmartFlows:
    """``ip.smartflows``."""

    def __init__(self, client: AsyncIntelePeer) -> None:
        self._client = client

    async def trigger(
        self,
        flow_id: str,
        *,
        ani: str,
        dnis: str,
        variables: Mapping[str, VariableValue] | None = None,
        legacy: bool = False,
    ) -> TriggerResult:
        """Start flow `flow_id`. Each run may text or call someone: never resent blindly.

        `ani` is the destination of the flow's outbound communication and `dnis`
        the caller ID (a number on your account), both E.164. `variables` become
        extra top-level keys that the flow reads as ``$Name``: names are
        case-sensitive and must match the flow's Expected Inputs exactly.
        ``legacy=True`` uses the older ``smart-flows.intelepeer.com/v2`` URL; the
        client's v4 credentials are sent to either.
        """
        body: dict[str, object] = {
            "flowId": validate_text(flow_id, "flow_id"),
            "ANI": validate_e164(ani, "ani"),
            "DNIS": validate_e164(dnis, "dnis"),
        }
        for name, value in (variables or {}).items():
            if not isinstance(name, str) or not name:
                raise InvalidInputError("variable names must be non-empty strings")
            if name in _RESERVED:
                raise InvalidInputError(
                    f"variable {name!r} collides with the trigger's own {name} field"
                )
            if not isinstance(value, str | int | float | bool):
                raise InvalidInputError(
                    f"variable {name!r} must be str, int, float or bool, not {type(value).__name__}"
                )
            body[name] = value
        urls = self._client.urls
        url = (
            f"{urls.smartflows_legacy}/v2/api/apitriggers"
            if legacy
            else f"{urls.api}/_rest/v4/sfgen/apitriggers"
        )
        response = await self._client._v4("POST", url, json_body=body)
        return TriggerResult(
            accepted=response.data is not False,
            status_code=response.status_code,
            raw=response.data,
        )
