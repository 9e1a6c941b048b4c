"""Yay.com call flows (``yay.callflows``); the ``{"result": ...}`` envelope is unwrapped."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ValidationError

from ..errors import IntelePeerError, InvalidInputError
from ..models.callflows import CallFlow
from ..types import validate_text

if TYPE_CHECKING:
    from ..client import AsyncYay

__all__ = ["CallFlows"]


def _result(body: object) -> Any:
    if isinstance(body, Mapping) and "result" in body:
        return body["result"]
    return body


def _checked_flow(value: CallFlow | Mapping[str, Any]) -> CallFlow:
    """A `CallFlow` from a model or the seed's JSON shape, its graph checked before sending."""
    if isinstance(value, CallFlow):
        flow = value
    elif not isinstance(value, Mapping):
        raise InvalidInputError("flow must be a CallFlow or a dict in Yay.com's JSON shape")
    else:
        try:
            flow = CallFlow.model_validate(value)
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            raise InvalidInputError("invalid call flow: " + "; ".join(problems), problems) from None
    flow.validate().raise_for_errors()
    return flow


def _parse_flow(body: object) -> CallFlow:
    result = _result(body)
    if not isinstance(result, Mapping):
        raise IntelePeerError("unexpected response: no call flow in its result")
    return CallFlow.model_validate(result)


def _path_uuid(uuid: str) -> str:
    return quote(validate_text(uuid, "uuid"), safe="")


class CallFlows:
    """List, read, create, replace and delete call flows. Every call is billed."""

    def __init__(self, client: AsyncYay) -> None:
        self._client = client

    async def list(self) -> builtins.list[CallFlow]:
        """Every active call flow on the account."""
        response = await self._client._yay("GET", "/voip/flow")
        result = _result(response.data)
        if not isinstance(result, builtins.list):
            return []
        return [CallFlow.model_validate(item) for item in result if isinstance(item, Mapping)]

    async def get(self, uuid: str) -> CallFlow:
        """One call flow; `NotFoundError` if it does not exist."""
        response = await self._client._yay("GET", f"/voip/flow/{_path_uuid(uuid)}")
        return _parse_flow(response.data)

    async def create(self, flow: CallFlow | Mapping[str, Any]) -> CallFlow:
        """Create a flow after checking its graph; never resent once it may have arrived."""
        checked = _checked_flow(flow)
        response = await self._client._yay("POST", "/voip/flow", json_body=checked.to_wire())
        return _parse_flow(response.data)

    async def update(self, uuid: str, flow: CallFlow | Mapping[str, Any]) -> CallFlow:
        """Replace a flow (PUT: fields left out reset to their defaults)."""
        path = f"/voip/flow/{_path_uuid(uuid)}"
        checked = _checked_flow(flow)
        response = await self._client._yay("PUT", path, json_body=checked.to_wire())
        return _parse_flow(response.data)

    async def delete(self, uuid: str) -> None:
        """Delete a flow (204); `NotFoundError` if it is already gone."""
        await self._client._yay("DELETE", f"/voip/flow/{_path_uuid(uuid)}")

    async def next_extension(self) -> int | None:
        """The next free call-flow extension, or None if the answer does not say.

        The seed's example ``result`` is an empty object, so the shape is unknown:
        a number, a numeric string, or an object with ``extension`` or
        ``next_extension`` are understood.
        """
        response = await self._client._yay("GET", "/voip/next-extension/flow")
        return _extension_of(_result(response.data))


def _extension_of(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, Mapping):
        for key in ("extension", "next_extension", "nextExtension"):
            if key in value:
                return _extension_of(value[key])
    return None
