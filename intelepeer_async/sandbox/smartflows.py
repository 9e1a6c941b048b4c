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
from ._web import answer, json_object, note, v4_error
from .auth import v4_refusal
from .clock import iso
from .state import World

__all__ = ["routes"]

_RESERVED = ("flowId", "ANI", "DNIS")


def routes(world: World) -> list[BaseRoute]:
    def handler(via: str) -> Callable[[Request], Awaitable[Response]]:
        async def trigger(request: Request) -> Response:
            # Assumption: the legacy URL's page shows no auth header, but lists 401;
            # both URLs take the v4 token, as the SDK sends it.
            refused = v4_refusal(world, request)
            if refused is not None:
                return refused
            body = await json_object(request)
            if body is None:
                note(request, "body is not a JSON object")
                return v4_error(400)
            flow_id, ani, dnis = (body.get(key) for key in _RESERVED)
            if not isinstance(flow_id, str) or not flow_id:
                note(request, "flowId missing or not a string")
                return v4_error(400)
            if not is_e164(ani) or not is_e164(dnis):
                note(request, "ANI and DNIS must be E.164 numbers")
                return v4_error(400)
            if flow_id not in world.config.smartflows:
                note(request, "no SmartFlow with this flowId")
                return v4_error(404)
            if dnis not in world.numbers:
                note(request, "DNIS is not a number on the account")
                return v4_error(403)
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
