"""Trigger a SmartFlow from outside (the flow's "Inbound API" trigger)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._http import merge_headers
from ..errors import InvalidInputError
from ..models.smartflows import TriggerResult
from ..types import (
    Secret,
    Timeout,
    is_finite_number,
    is_unicode,
    not_unicode,
    validate_credential,
    validate_e164,
    validate_text,
)

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer

__all__ = ["FlowToken", "SmartFlows"]

_RESERVED = frozenset({"flowId", "ANI", "DNIS"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
VariableValue = str | int | float | bool


@dataclass(frozen=True, init=False)
class FlowToken:
    """A flow's own "Auth Token" (the Inbound API trigger's input, seed 001), and
    how it is sent.

    The public pages do not say how SmartFlows expects this token, so this is
    an assumption made configurable: by default it is sent as
    ``Authorization: Bearer <token>``, in place of the account's token. Another
    `header` sends it under that name, next to the account's token;
    ``scheme=None`` sends the bare token.
    """

    token: Secret
    header: str
    scheme: str | None

    def __init__(
        self, token: str, *, header: str = "Authorization", scheme: str | None = "Bearer"
    ) -> None:
        validate_credential(token, "flow token", in_header=True, spaces=False)
        if not isinstance(header, str) or not _HEADER_NAME.fullmatch(header):
            raise InvalidInputError("FlowToken header must be an HTTP header name")
        if scheme is not None and (
            not isinstance(scheme, str) or not _HEADER_NAME.fullmatch(scheme)
        ):
            raise InvalidInputError("FlowToken scheme must be a word such as 'Bearer', or None")
        object.__setattr__(self, "token", Secret(token))
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "scheme", scheme)

    def as_headers(self) -> dict[str, str]:
        value = self.token.reveal()
        return {self.header: f"{self.scheme} {value}" if self.scheme else value}


def _variable(name: object, value: object) -> VariableValue:
    if not isinstance(name, str) or not name:
        raise InvalidInputError("variable names must be non-empty strings")
    if not is_unicode(name):
        raise not_unicode("a variable name")
    if name in _RESERVED:
        raise InvalidInputError(f"variable {name!r} collides with the trigger's own {name} field")
    if not isinstance(value, str | int | float | bool):
        raise InvalidInputError(
            f"variable {name!r} must be str, int, float or bool, not {type(value).__name__}"
        )
    if isinstance(value, float) and not is_finite_number(value):
        raise InvalidInputError(f"variable {name!r} must be a finite number (JSON has no NaN)")
    if isinstance(value, str) and not is_unicode(value):
        raise not_unicode(f"variable {name!r}")
    return value


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
        flow_token: str | FlowToken | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> TriggerResult:
        """Start flow `flow_id`. Each run may text or call someone: never resent blindly.

        `ani` is the destination of the flow's outbound communication and `dnis`
        the caller ID (a number on your account), both E.164. `variables` become
        extra top-level keys that the flow reads as ``$Name``: names are
        case-sensitive and must match the flow's Expected Inputs exactly.
        ``legacy=True`` uses the older ``smart-flows.intelepeer.com/v2`` URL.
        `flow_token` is the flow's own Auth Token, if it has one (see
        `FlowToken` for how it is sent); without it, the client's v4
        credentials are sent, to either URL.
        """
        body: dict[str, object] = {
            "flowId": validate_text(flow_id, "flow_id"),
            "ANI": validate_e164(ani, "ani"),
            "DNIS": validate_e164(dnis, "dnis"),
        }
        for name, value in (variables or {}).items():
            body[name] = _variable(name, value)
        headers = extra_headers
        if flow_token is not None:
            token = flow_token if isinstance(flow_token, FlowToken) else FlowToken(flow_token)
            headers = merge_headers(extra_headers or {}, token.as_headers())
        urls = self._client.urls
        url = (
            f"{urls.smartflows_legacy}/v2/api/apitriggers"
            if legacy
            else f"{urls.api}/_rest/v4/sfgen/apitriggers"
        )
        response = await self._client._v4(
            "POST", url, json_body=body, extra_headers=headers, timeout=timeout
        )
        return TriggerResult(
            accepted=response.data is not False,
            status_code=response.status_code,
            raw=response.data,
        )
