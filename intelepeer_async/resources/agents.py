"""SmartCommunicator agents (``ip.agents``), authenticated with the SmartCommunicator JWT."""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import ValidationError

from .._http import Response
from ..errors import APIStatusError, InvalidInputError, NotFoundError
from ..models.agents import Agent, OffboardResult, OnboardResult
from ..types import Timeout, validate_e164, validate_text

if TYPE_CHECKING:
    from ..client import AsyncIntelePeer

__all__ = ["GET_KEY_IDS", "UPDATE_KEY_IDS", "Agents"]

logger = logging.getLogger("intelepeer_async")

#: What `agent_id` may refer to, per the seed: wider for reads than for writes.
GET_KEY_IDS = frozenset({"user_object_id", "agent_id", "upn", "phone_number", "consistency_id"})
UPDATE_KEY_IDS = frozenset({"user_object_id", "agent_id", "consistency_id"})


def _key_id(key_id: str | None, allowed: frozenset[str]) -> dict[str, str] | None:
    if key_id is None:
        return None
    if key_id not in allowed:
        raise InvalidInputError(f"key_id must be one of {', '.join(sorted(allowed))}")
    return {"key_id": key_id}


def _is_no_records(error: NotFoundError) -> bool:
    """The list endpoint's documented "nothing here" answer, not some other 404."""
    return error.message.strip().lower().startswith("no records found")


def _not_registered(error: APIStatusError) -> bool:
    """Seed 002's answer to offboarding an agent that is no longer registered
    (documented as 400 and as 401): "Azure Object ID is not registered with
    SmartCommunicator". After an attempt that may have offboarded it, it was."""
    return error.status_code in (400, 401) and "not registered" in error.message.lower()


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


def _agent(response: Response, *, wrote: bool = False) -> Agent:
    """The agent in an answer, or `APIResponseValidationError` if there is none to read."""
    data = _unwrap(response.data)
    if isinstance(data, Mapping):
        try:
            return Agent.model_validate(data)
        except ValidationError:
            pass
    what = "the agent was updated, but the answer" if wrote else "the answer"
    raise response.unreadable(f"{what} is not an agent record")


def _agents(response: Response) -> list[Agent]:
    """Every agent in a list answer; one odd entry is skipped with a warning, not fatal."""
    items = _unwrap(response.data)
    if not isinstance(items, list):
        raise response.unreadable("the agent list is not a JSON list")
    agents: list[Agent] = []
    for index, item in enumerate(items):
        try:
            agents.append(Agent.model_validate(item))
        except ValidationError:
            logger.warning("agents.list: entry %d is not an agent record; skipped", index)
    if items and not agents:
        raise response.unreadable("no entry of the agent list is an agent record")
    return agents


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

    async def list(
        self,
        customer_id: int | str | None = None,
        *,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> builtins.list[Agent]:
        """Every agent of the customer (active and offboarded).

        An entry that is not an agent record is skipped and logged at WARNING
        (its index only); an answer that is not a list, or whose every entry is
        unreadable, raises `APIResponseValidationError`. The seed documents the
        list's 404 as "No Records found": that answer is an empty list, while any
        other 404 (a wrong URL, say) still raises `NotFoundError`.
        """
        try:
            response = await self._client._smartcomm(
                "GET", self._base(customer_id), extra_headers=extra_headers, timeout=timeout
            )
        except NotFoundError as exc:
            if _is_no_records(exc):
                return []
            raise
        return _agents(response)

    async def get(
        self,
        agent_id: str,
        *,
        key_id: str | None = None,
        customer_id: int | str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> Agent:
        """One agent; `key_id` says which field `agent_id` is (default user_object_id)."""
        response = await self._client._smartcomm(
            "GET",
            self._agent_url(agent_id, customer_id),
            params=_key_id(key_id, GET_KEY_IDS),
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return _agent(response)

    async def onboard(
        self,
        *,
        user_object_id: str,
        tenant_id: str,
        phone_number: str,
        consistency_id: str | None = None,
        upn: str | None = None,
        customer_id: int | str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> OnboardResult:
        """Add an agent. Not retried once it may have reached the server.

        Any 2xx answer is returned, whatever its body (`raw`; the seed's own
        example is not valid JSON; None if the body could not be decoded).
        """
        body: dict[str, str] = {
            "user_object_id": validate_text(user_object_id, "user_object_id"),
            "tenant_id": validate_text(tenant_id, "tenant_id"),
            "phone_number": validate_e164(phone_number, "phone_number"),
        }
        if consistency_id is not None:
            body["consistency_id"] = validate_text(consistency_id, "consistency_id")
        if upn is not None:
            body["upn"] = validate_text(upn, "upn")
        response = await self._client._smartcomm(
            "POST",
            self._base(customer_id),
            json_body=body,
            extra_headers=extra_headers,
            timeout=timeout,
        )
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
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> Agent:
        """Change an agent; only the fields given are sent (PATCH).

        If the change is made but the answer holds no readable agent,
        `APIResponseValidationError` says so (``succeeded`` is True).
        """
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
            extra_headers=extra_headers,
            timeout=timeout,
        )
        return _agent(response, wrote=True)

    async def offboard(
        self,
        agent_id: str,
        *,
        key_id: str | None = None,
        customer_id: int | str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        timeout: float | Timeout | None = None,
    ) -> OffboardResult:
        """Offboard (delete) an agent.

        A DELETE is retried after a timeout; if a retry is then answered that
        the agent is not there (404 "Agent not found", or 400/401 "... is not
        registered with SmartCommunicator", as seed 002 documents for an agent
        already offboarded) after an earlier attempt may have offboarded it,
        that is reported as offboarded (``already_gone=True``), not raised.
        """
        response = await self._client._smartcomm(
            "DELETE",
            self._agent_url(agent_id, customer_id),
            params=_key_id(key_id, UPDATE_KEY_IDS),
            extra_headers=extra_headers,
            timeout=timeout,
            gone_if=_not_registered,
        )
        data = response.data
        status = data.get("status") if isinstance(data, Mapping) else None
        return OffboardResult(
            status=status if isinstance(status, str) else None,
            raw=data,
            already_gone=response.gone_after_retry,
        )
