"""SmartFlows triggers: ``POST /_rest/v4/sfgen/apitriggers`` and the legacy ``/v2/api/apitriggers``.

Seed 000: body ``flowId``, ``ANI``, ``DNIS`` (E.164; DNIS must be on the account)
plus free-form variables; answers 202, 400, 401, 403, 404. API-FACTS: the 202
body is the boolean ``true``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..types import is_e164
from ._web import answer, refuse
from .auth import v4_json
from .clock import iso
from .state import World

__all__ = ["routes"]

_RESERVED = ("flowId", "ANI", "DNIS")


def routes(world: World) -> list[BaseRoute]:
    def handler(via: str) -> Callable[[Request], Awaitable[Response]]:
        async def trigger(request: Request) -> Response:
            # Assumption: the legacy URL's page shows no auth header, but lists 401;
            # both URLs take the v4 token, as the SDK sends it.
            body = await v4_json(world, request)
            if isinstance(body, Response):
                return body
            flow_id, ani, dnis = (body.get(key) for key in _RESERVED)
            if not isinstance(flow_id, str) or not flow_id:
                return refuse(request, 400, why="flowId missing or not a string")
            if not is_e164(ani) or not is_e164(dnis):
                return refuse(request, 400, why="ANI and DNIS must be E.164 numbers")
            if flow_id not in world.config.smartflows:
                return refuse(request, 404, why="no SmartFlow with this flowId")
            if dnis not in world.numbers:
                return refuse(request, 403, why="DNIS is not a number on the account")
            world.add_trigger(
                {
                    "flowId": flow_id,
                    "ANI": ani,
                    "DNIS": dnis,
                    "variables": {k: v for k, v in body.items() if k not in _RESERVED},
                    "via": via,
                    "at": iso(world.now()),
                }
            )
            return answer(True, 202)

        return trigger

    return [
        Route("/_rest/v4/sfgen/apitriggers", handler("v4"), methods=["POST"]),
        Route("/v2/api/apitriggers", handler("legacy"), methods=["POST"]),
    ]
