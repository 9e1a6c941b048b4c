"""SmartCommunicator agents (``ip.agents``), authenticated with the SmartCommunicator JWT."""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import InvalidInputError
from ..models.agents import Agent, OffboardResult, OnboardResult
from ..types import validate_e164, validate_text

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer

__all__ = ["GET_KEY_IDS", "UPDATE_KEY_IDS", "Agents"]

#: What `agent_id` may refer to, per the seed: wider for reads than for writes.
GET_KEY_IDS = frozenset({"user_object_id", "agent_id", "upn", "phone_number", "consistency_id"})
UPDATE_KEY_IDS = frozenset({"user_object_id", "agent_id", "consistency_id"})


def _key_id(key_id: str | None, allowed: frozenset[str]) -> dict[str, str] | None:
    if key_id is None:
        return None
    if key_id not in allowed:
        raise InvalidInputError(f"key_id must be one of {', '.join(sorted(allowed))}")
    return {"key_id": key_id}


def _unwrap(body: object) -> Any:
    """SmartCommunicator wraps some answers in ``{"data": ..., "error": null}``."""
    if isinstance(body, Mapping) and "data" in body and set(body) <= {"data", "error"}:
        return body["data"]
    return body


_MESSAGE_IN_TEXT = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _message(body: object) -> str | None:
    """The ``message`` of an answer; also found in text that is not quite JSON
    (the seed's own onboarding example lacks its closing brace)."""
    data = _unwrap(body)
    if isinstance(data, Mapping):
        value = data.get("message")
        return value if isinstance(value, str) else None
    if isinstance(data, str):
        found = _MESSAGE_IN_TEXT.search(data)
        return found.group(1) if found else None
    return None


def _agent(body: object) -> Agent:
    data = _unwrap(body)
    return Agent.model_validate(data if isinstance(data, Mapping) else {})


class Agents:
    """Manage the agents of a SmartCommunicator customer."""

    def __init__(self, client: AsyncIntelePeer) -> None:
        self._client = client

    def _base(self, customer_id: int | str | None) -> str:
        chosen = customer_id if customer_id is not None else self._client.customer_id
        if chosen is None:
            raise InvalidInputError(
                "customer_id is required: pass it here or to AsyncIntelePeer(customer_id=...)"
            )
        text = str(chosen)
        if isinstance(chosen, bool) or not text.isdigit():
            raise InvalidInputError("customer_id must be a whole number")
        return f"{self._client.urls.smartcomm}/rest/v1/smartcomm/{text}/agents"

    def _agent_url(self, agent_id: str, customer_id: int | str | None) -> str:
        # agent_id may be a UPN (a@b) or a phone number (+1...): encode it all.
        return f"{self._base(customer_id)}/{quote(validate_text(agent_id, 'agent_id'), safe='')}"

    async def list(self, customer_id: int | str | None = None) -> builtins.list[Agent]:
        """Every agent of the customer (active and offboarded)."""
        response = await self._client._smartcomm("GET", self._base(customer_id))
        items = _unwrap(response.data)
        if not isinstance(items, list):
            return []
        return [Agent.model_validate(item) for item in items if isinstance(item, Mapping)]

    async def get(
        self, agent_id: str, *, key_id: str | None = None, customer_id: int | str | None = None
    ) -> Agent:
        """One agent; `key_id` says which field `agent_id` is (default user_object_id)."""
        response = await self._client._smartcomm(
            "GET", self._agent_url(agent_id, customer_id), params=_key_id(key_id, GET_KEY_IDS)
        )
        return _agent(response.data)

    async def onboard(
        self,
        *,
        user_object_id: str,
        tenant_id: str,
        phone_number: str,
        consistency_id: str | None = None,
        upn: str | None = None,
        customer_id: int | str | None = None,
    ) -> OnboardResult:
        """Add an agent. Not retried once it may have reached the server."""
        body: dict[str, str] = {
            "user_object_id": validate_text(user_object_id, "user_object_id"),
            "tenant_id": validate_text(tenant_id, "tenant_id"),
            "phone_number": validate_e164(phone_number, "phone_number"),
        }
        if consistency_id is not None:
            body["consistency_id"] = validate_text(consistency_id, "consistency_id")
        if upn is not None:
            body["upn"] = validate_text(upn, "upn")
        response = await self._client._smartcomm("POST", self._base(customer_id), json_body=body)
        return OnboardResult(message=_message(response.data), raw=response.data)

    async def update(
        self,
        agent_id: str,
        *,
        key_id: str | None = None,
        customer_id: int | str | None = None,
        phone_number: str | None = None,
        upn: str | None = None,
        user_object_id: str | None = None,
        tenant_id: str | None = None,
        consistency_id: str | None = None,
        transfer_data: bool | None = None,
    ) -> Agent:
        """Change an agent; only the fields given are sent (PATCH)."""
        body: dict[str, object] = {}
        if phone_number is not None:
            body["phone_number"] = validate_e164(phone_number, "phone_number")
        for name, value in (
            ("upn", upn),
            ("user_object_id", user_object_id),
            ("tenant_id", tenant_id),
            ("consistency_id", consistency_id),
        ):
            if value is not None:
                body[name] = validate_text(value, name)
        if transfer_data is not None:
            if not isinstance(transfer_data, bool):
                raise InvalidInputError("transfer_data must be a bool")
            body["transfer_data"] = transfer_data
        if not body:
            raise InvalidInputError("update needs at least one field to change")
        response = await self._client._smartcomm(
            "PATCH",
            self._agent_url(agent_id, customer_id),
            params=_key_id(key_id, UPDATE_KEY_IDS),
            json_body=body,
        )
        return _agent(response.data)

    async def offboard(
        self, agent_id: str, *, key_id: str | None = None, customer_id: int | str | None = None
    ) -> OffboardResult:
        """Offboard (delete) an agent."""
        response = await self._client._smartcomm(
            "DELETE",
            self._agent_url(agent_id, customer_id),
            params=_key_id(key_id, UPDATE_KEY_IDS),
        )
        data = response.data
        status = data.get("status") if isinstance(data, Mapping) else None
        return OffboardResult(status=status if isinstance(status, str) else None, raw=data)
