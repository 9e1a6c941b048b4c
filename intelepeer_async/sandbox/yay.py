"""Yay.com call flows: ``/voip/flow[/{uuid}]`` and ``/voip/next-extension/flow``.

Seed 004: every answer is the ``{"result", "status_code", "status_message"}``
envelope, errors with an empty ``result``; create 201, update 200, delete 204,
400/404 on errors. A flow is checked with the same graph rules the SDK applies
before sending (`intelepeer_async.callflow.check_flow`, one place for them), plus
what only the server can know: module types it does not have, and an extension
another flow already uses. The reason for a 400 is at ``GET /_sandbox/requests``
(its ``note``), since Yay.com's documented 400 body says only "Bad Request".
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..callflow import check_flow
from ..models.callflows import CallFlow, UnknownModule
from ._web import json_object, note
from .auth import envelope, yay_account
from .state import World

__all__ = ["flow_problems", "next_extension", "routes"]


def flow_problems(body: dict[str, Any] | None) -> list[str]:
    """Everything wrong with a create/update body; empty when it may be stored."""
    if body is None:
        return ["body must be a JSON object"]
    problems: list[str] = []
    extension, name, modules = body.get("extension"), body.get("name"), body.get("flow")
    if not isinstance(extension, int) or isinstance(extension, bool) or extension < 1:
        problems.append("extension must be a positive integer")
    if not isinstance(name, str) or not name.strip():
        problems.append("name must be a non-empty string")
    if not isinstance(modules, dict) or not modules:
        problems.append("flow must be a non-empty map of modules")
        return problems
    for flag in ("show_call_route_name", "show_original_caller_id"):
        if flag in body and not isinstance(body[flag], bool):
            problems.append(f"{flag} must be a boolean")
    if not all(isinstance(m, dict) for m in modules.values()):
        return [*problems, "every module must be an object"]
    try:
        flow = CallFlow.model_validate({"name": name, "extension": extension, "flow": modules})
    except ValidationError as exc:
        return [*problems, *(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())]
    for key, module in flow.flow.items():
        if isinstance(module, UnknownModule):
            problems.append(f"{key}: unknown module type {module.module!r}")
    problems.extend(p for p in check_flow(flow).errors if p not in problems)
    return problems


def next_extension(flows: dict[str, dict[str, Any]], first: int) -> int:
    """The lowest extension from `first` up that no flow uses."""
    used = {f["extension"] for f in flows.values()}
    candidate = first
    while candidate in used:
        candidate += 1
    return candidate


def _stored(body: dict[str, Any], flow_uuid: str, created_on: str, today: str) -> dict[str, Any]:
    # PUT replaces the whole object: optional fields left out reset to their defaults.
    return {
        "created_on": created_on,
        "extension": body["extension"],
        "flow": body["flow"],
        "name": body["name"],
        "show_call_route_name": body.get("show_call_route_name", False),
        "show_original_caller_id": body.get("show_original_caller_id", False),
        "updated_on": today,
        "uuid": flow_uuid,
    }


def routes(world: World) -> list[BaseRoute]:
    def today() -> str:
        return datetime.fromtimestamp(world.now(), UTC).date().isoformat()

    async def checked(
        request: Request, flows: dict[str, dict[str, Any]], own_uuid: str | None
    ) -> dict[str, Any] | Response:
        body = await json_object(request)
        problems = flow_problems(body)
        if body is not None and not problems:
            clash = next(
                (
                    u
                    for u, f in flows.items()
                    if f["extension"] == body["extension"] and u != own_uuid
                ),
                None,
            )
            if clash is not None:
                problems.append(f"extension {body['extension']} is used by call flow {clash}")
        if problems:
            note(request, "; ".join(problems))
            return envelope({}, 400)
        assert body is not None
        return body

    async def list_flows(request: Request) -> Response:
        account, refused = yay_account(world, request)
        return refused or envelope(list(world.flows_of(account).values()), 200)

    async def create(request: Request) -> Response:
        account, refused = yay_account(world, request)
        if refused:
            return refused
        flows = world.flows_of(account)
        body = await checked(request, flows, None)
        if isinstance(body, Response):
            return body
        flow_uuid = str(uuid_module.uuid4())
        flows[flow_uuid] = _stored(body, flow_uuid, today(), today())
        # As the seed's 201 example: the flow as sent, with its uuid and created_on.
        result = {k: v for k, v in flows[flow_uuid].items() if k != "updated_on"}
        return envelope(result, 201)

    async def get_flow(request: Request) -> Response:
        account, refused = yay_account(world, request)
        if refused:
            return refused
        flow = world.flows_of(account).get(request.path_params["uuid"])
        return envelope(flow, 200) if flow is not None else envelope({}, 404)

    async def update(request: Request) -> Response:
        account, refused = yay_account(world, request)
        if refused:
            return refused
        flows = world.flows_of(account)
        flow_uuid = request.path_params["uuid"]
        if flow_uuid not in flows:
            return envelope({}, 404)
        body = await checked(request, flows, flow_uuid)
        if isinstance(body, Response):
            return body
        flows[flow_uuid] = _stored(body, flow_uuid, flows[flow_uuid]["created_on"], today())
        return envelope(flows[flow_uuid], 200)

    async def delete(request: Request) -> Response:
        account, refused = yay_account(world, request)
        if refused:
            return refused
        if world.flows_of(account).pop(request.path_params["uuid"], None) is None:
            return envelope({}, 404)
        # Assumption: the seed shows an envelope for 204, but HTTP forbids a body on
        # a 204 response, so the answer is an empty 204.
        return Response(status_code=204)

    async def extension(request: Request) -> Response:
        account, refused = yay_account(world, request)
        if refused:
            return refused
        # Assumption: the seed's example result is {}; we answer {"extension": N}.
        free = next_extension(world.flows_of(account), world.config.first_extension)
        return envelope({"extension": free}, 200)

    return [
        Route("/voip/flow", list_flows, methods=["GET"]),
        Route("/voip/flow", create, methods=["POST"]),
        Route("/voip/flow/{uuid}", get_flow, methods=["GET"]),
        Route("/voip/flow/{uuid}", update, methods=["PUT"]),
        Route("/voip/flow/{uuid}", delete, methods=["DELETE"]),
        Route("/voip/next-extension/flow", extension, methods=["GET"]),
    ]
