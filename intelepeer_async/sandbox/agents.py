"""SmartCommunicator agents: ``/rest/v1/smartcomm/{customer_id}/agents[/{agent_id}]``.

Seed 002 lists every 400 text but not which rule produces which. The rules here
give each documented text one clear cause (see `onboard_problem`): with a
``consistency_id`` the agent's identity is that MSDS Consistency GUID, without
one it is the Azure Object ID, and a number or UPN already held by an active
agent is refused with the text naming how it clashes (a UPN held by an agent
with no Consistency GUID: "UPN is already registered with SmartCommunicator").
Update and offboard refusals use their own documented shape
(``{"status": "error", "message"}``). Offboarded agents keep their record
(``status: "offboarded"``) but hold nothing; onboarding one again revives it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._web import answer, json_object, note
from .auth import smartcomm_refusal
from .state import AgentRecord, World

__all__ = ["GET_KEYS", "WRITE_KEYS", "find", "onboard_problem", "routes", "update_problem"]

GET_KEYS = ("user_object_id", "agent_id", "upn", "phone_number", "consistency_id")
WRITE_KEYS = ("user_object_id", "agent_id", "consistency_id")
_EDITABLE = ("phone_number", "upn", "user_object_id", "tenant_id", "consistency_id")

TENANT = "Tenant ID is not registered with SmartCommunicator"
NOT_10DLC = "TN is not part of the list of numbers that are already 10DLC registered"
CID_EXISTS = "MSDS Consistency GUID already exists"
AOID_DIFF_CID = "Azure Object ID exists with a different MSDS Consistency GUID"
TN_DIFF_CID = "TN is already registered with a different MSDS Consistency GUID"
TN_SAME_CID = "TN exists with the same MSDS Consistency GUID"
UPN_DIFF_CID = "UPN is already registered with a different MSDS Consistency GUID"
UPN_SAME_CID = "UPN exists with the same MSDS Consistency GUID"
AOID_EXISTS = "Azure Object ID already exists"
TN_DIFF_AOID = "TN is already registered with a different Azure Object ID"
TN_SAME_AOID = "TN exists with the same Azure Object ID"
UPN_DIFF_AOID = "UPN is already registered with a different Azure Object ID"
UPN_SAME_AOID = "UPN exists with the same Azure Object ID"
TN_DIFF_UPN = "TN is already registered with a different UPN"
UPN_REGISTERED = "UPN is already registered with SmartCommunicator"
PHONE_NOT_REGISTERED = "Phone number is not registered with SmartCommunicator"
AOID_NOT_REGISTERED = "Azure Object ID is not registered with SmartCommunicator"
NO_RECORDS = "No Records found for any of the parameters provided"
NOT_FOUND = "Agent not found"


def _holder(agents: Iterable[AgentRecord], field: str, value: object) -> AgentRecord | None:
    """The active agent whose `field` is `value`."""
    if value is None:
        return None
    return next((a for a in agents if a.active and getattr(a, field) == value), None)


def onboard_problem(
    agents: list[AgentRecord], body: dict[str, Any], *, tenants: list[str], dlc: list[str]
) -> str | None:
    """The documented 400 text for this onboarding, or None if it may go ahead."""
    uoid, phone = body["user_object_id"], body["phone_number"]
    cid, upn = body.get("consistency_id"), body.get("upn")
    if body["tenant_id"] not in tenants:
        return TENANT
    if phone not in dlc:
        return NOT_10DLC
    by_phone = _holder(agents, "phone_number", phone)
    by_upn = _holder(agents, "upn", upn)
    by_uoid = _holder(agents, "user_object_id", uoid)
    if cid is not None:
        if by_phone:
            return TN_SAME_CID if by_phone.consistency_id == cid else TN_DIFF_CID
        if by_upn:
            if by_upn.consistency_id is None:  # held by an agent known by Object ID only
                return UPN_REGISTERED
            return UPN_SAME_CID if by_upn.consistency_id == cid else UPN_DIFF_CID
        if by_uoid and by_uoid.consistency_id != cid:
            return AOID_DIFF_CID
        if _holder(agents, "consistency_id", cid):
            return CID_EXISTS
        return None
    if by_phone:
        if by_phone.user_object_id == uoid:
            return TN_SAME_AOID
        if upn is not None and by_phone.upn is not None and by_phone.upn != upn:
            return TN_DIFF_UPN
        return TN_DIFF_AOID
    if by_upn:
        return UPN_SAME_AOID if by_upn.user_object_id == uoid else UPN_DIFF_AOID
    return AOID_EXISTS if by_uoid else None


def update_problem(
    agents: list[AgentRecord],
    target: AgentRecord,
    changes: dict[str, Any],
    *,
    tenants: list[str],
    dlc: list[str],
) -> str | None:
    """The 400 text for this PATCH of `target`, or None if it may go ahead."""
    if not target.active:
        return AOID_NOT_REGISTERED
    others = [a for a in agents if a is not target]
    if "tenant_id" in changes and changes["tenant_id"] not in tenants:
        return TENANT
    if "phone_number" in changes:
        if changes["phone_number"] not in dlc:
            return PHONE_NOT_REGISTERED
        if _holder(others, "phone_number", changes["phone_number"]):
            return TN_DIFF_AOID
    clashes = (("upn", UPN_REGISTERED), ("consistency_id", CID_EXISTS))
    for field, text in (*clashes, ("user_object_id", AOID_EXISTS)):
        if field in changes and _holder(others, field, changes[field]):
            return text
    return None


def find(agents: list[AgentRecord], value: str, key_id: str) -> list[AgentRecord]:
    """Agents whose `key_id` field equals `value`, active ones first."""
    found = [a for a in agents if getattr(a, key_id) == value]
    return sorted(found, key=lambda a: not a.active)


def _not_found(text: str) -> Response:
    return answer({"requestId": str(uuid.uuid4()), "message": text}, 404)


def _update_error(text: str, status: int = 400) -> Response:
    return answer({"status": "error", "message": text}, status)


def _strings(body: dict[str, Any], names: Iterable[str]) -> bool:
    return all(isinstance(body.get(n), str) and body[n] for n in names)


def routes(world: World) -> list[BaseRoute]:
    def refusal(request: Request) -> Response | None:
        refused = smartcomm_refusal(world, request)
        if refused is not None:
            return refused
        customer = request.path_params["customer_id"]
        if customer != str(world.config.customer_id):
            # Assumption: another customer's agents are forbidden to this login.
            note(request, "customer_id is not this account's")
            return answer({"message": "Forbidden", "status": 403}, 403)
        return None

    def key_id(request: Request, allowed: tuple[str, ...]) -> str | None:
        value = request.query_params.get("key_id", "user_object_id")
        return value if value in allowed else None

    async def list_agents(request: Request) -> Response:
        if refused := refusal(request):
            return refused
        if not world.agents:
            # As the seed documents for this endpoint: no records is a 404.
            return _not_found(NO_RECORDS)
        customer = world.config.customer_id
        return answer(
            {"data": [{"customer_id": customer, **a.view()} for a in world.agents], "error": None}
        )

    async def onboard(request: Request) -> Response:
        if refused := refusal(request):
            return refused
        body = await json_object(request)
        required = ("user_object_id", "tenant_id", "phone_number")
        if body is None or not _strings(body, required):
            # Assumption: the text for a missing required field is not documented.
            note(request, "user_object_id, tenant_id and phone_number are required")
            return answer({"message": "Missing required fields", "status": 400}, 400)
        optional = [n for n in ("consistency_id", "upn") if body.get(n) is not None]
        if not _strings(body, optional):
            return answer({"message": "consistency_id and upn must be strings", "status": 400}, 400)
        c = world.config
        problem = onboard_problem(
            world.agents, body, tenants=c.tenants, dlc=c.registered_dlc_numbers
        )
        if problem is not None:
            note(request, problem)
            return answer({"message": problem, "status": 400}, 400)
        record = AgentRecord(
            agent_id=secrets.token_hex(12),
            user_object_id=body["user_object_id"],
            tenant_id=body["tenant_id"],
            phone_number=body["phone_number"],
            consistency_id=body.get("consistency_id"),
            upn=body.get("upn"),
        )
        retired = find(world.agents, record.user_object_id, "user_object_id")
        if retired:  # offboarded before (no active one, or onboard_problem said so)
            record.agent_id = retired[0].agent_id
            world.agents[world.agents.index(retired[0])] = record
        else:
            world.agents.append(record)
        return answer({"data": {"message": "Onboarded Successfully"}, "error": None})

    async def get_agent(request: Request) -> Response:
        if refused := refusal(request):
            return refused
        key = key_id(request, GET_KEYS)
        if key is None:
            return _update_error("key_id must be one of " + ", ".join(GET_KEYS))
        found = find(world.agents, request.path_params["agent_id"], key)
        return answer(found[0].view()) if found else _not_found(NO_RECORDS)

    def target(request: Request) -> AgentRecord | Response:
        """The one agent an update or offboard names, or the refusal."""
        if refused := refusal(request):
            return refused
        key = key_id(request, WRITE_KEYS)
        if key is None:
            return _update_error("key_id must be one of " + ", ".join(WRITE_KEYS))
        found = find(world.agents, request.path_params["agent_id"], key)
        if not found:
            return _not_found(NOT_FOUND)
        if sum(a.active for a in found) > 1:
            return _update_error("More than one agent matches the provided filters")
        return found[0]

    async def update(request: Request) -> Response:
        agent = target(request)
        if isinstance(agent, Response):
            return agent
        body = await json_object(request)
        changes = {k: v for k, v in (body or {}).items() if k in _EDITABLE}
        if not changes or not _strings(changes, changes):
            return _update_error(
                "Nothing to update: give phone_number, upn, user_object_id, "
                "tenant_id or consistency_id as strings"
            )
        c = world.config
        problem = update_problem(
            world.agents, agent, changes, tenants=c.tenants, dlc=c.registered_dlc_numbers
        )
        if problem is not None:
            note(request, problem)
            return _update_error(problem)
        for name, value in changes.items():
            setattr(agent, name, value)
        return answer(agent.view())

    async def offboard(request: Request) -> Response:
        agent = target(request)
        if isinstance(agent, Response):
            return agent
        if not agent.active:
            note(request, "agent already offboarded")
            return _update_error(AOID_NOT_REGISTERED, world.config.offboard_refusal_status)
        agent.status = "offboarded"
        return answer({"status": "ok"})

    base = "/rest/v1/smartcomm/{customer_id}/agents"
    return [
        Route(base, list_agents, methods=["GET"]),
        Route(base, onboard, methods=["POST"]),
        Route(base + "/{agent_id}", get_agent, methods=["GET"]),
        Route(base + "/{agent_id}", update, methods=["PATCH"]),
        Route(base + "/{agent_id}", offboard, methods=["DELETE"]),
    ]
