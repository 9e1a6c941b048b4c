"""The simulator's own API under ``/_sandbox/``: look at the world and steer it.

| method and path | does |
| --- | --- |
| ``GET /_sandbox/state`` | everything: account, numbers, messages, agents, flows... |
| ``GET|POST /_sandbox/clock`` | read virtual time; ``{"advance": seconds}`` moves it |
| ``GET|DELETE /_sandbox/requests`` | every vendor-API request (``?method=&path=glob``); clear |
| ``GET|POST|DELETE /_sandbox/faults``, ``DELETE /_sandbox/faults/{id}`` | faults |
| ``POST /_sandbox/inbound`` | ``{"from","to","message"}``: an SMS arrives, is delivered |
| ``GET /_sandbox/deliveries[/{id}]``, ``POST .../{id}/resend`` | deliveries |

These requests are neither logged nor subject to faults. Errors answer
``{"error": "..."}`` with 400, 404, 409 or 503.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._web import SandboxError, answer, json_body

if TYPE_CHECKING:
    from .app import Sandbox

__all__ = ["routes"]

Handler = Callable[[Request], Awaitable[Any]]


def _json(handler: Handler, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    """A handler returning data becomes one answering JSON, or ``{"error"}`` on refusal."""

    async def endpoint(request: Request) -> Response:
        try:
            return answer(await handler(request), status)
        except SandboxError as exc:
            return answer({"error": exc.message}, exc.status)

    return endpoint


async def _object(request: Request) -> dict[str, Any]:
    body, ok = await json_body(request)
    if not ok or not isinstance(body, dict):
        raise SandboxError(400, "the body must be a JSON object")
    return body


def _id(request: Request) -> int:
    return int(request.path_params["id"])


def routes(sandbox: Sandbox) -> list[BaseRoute]:
    async def state(request: Request) -> Any:
        return sandbox.state()

    async def clock(request: Request) -> Any:
        if request.method == "POST":
            seconds = (await _object(request)).get("advance")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise SandboxError(400, "advance must be a number of seconds")
            await sandbox.advance(seconds)
        return sandbox.clock_view()

    async def requests(request: Request) -> Any:
        if request.method == "DELETE":
            sandbox.clear_requests()
            return {"cleared": True}
        query = request.query_params
        return sandbox.requests(method=query.get("method"), path=query.get("path"))

    async def faults(request: Request) -> Any:
        if request.method == "DELETE":
            sandbox.clear_faults()
            return []
        if request.method == "POST":
            body, ok = await json_body(request)
            if isinstance(body, dict) and "faults" in body:
                body = body["faults"]
            items = body if isinstance(body, list) else [body]
            if not ok or not all(isinstance(item, dict) for item in items):
                raise SandboxError(400, "send a fault object, a list of them, or {'faults': [...]}")
            return sandbox.add_faults(items)  # all or none
        return sandbox.faults()

    async def remove_fault(request: Request) -> Any:
        sandbox.remove_fault(_id(request))
        return sandbox.faults()

    async def inbound(request: Request) -> Any:
        body = await _object(request)
        wait = body.get("wait", True)
        return await sandbox.send_inbound(
            body.get("from"),  # type: ignore[arg-type]  # checked by send_inbound
            body.get("to"),  # type: ignore[arg-type]
            body.get("message"),  # type: ignore[arg-type]
            refid=body.get("refid"),
            wait=wait is not False,
        )

    async def deliveries(request: Request) -> Any:
        return sandbox.deliveries()

    async def delivery(request: Request) -> Any:
        return sandbox.delivery(_id(request))

    async def resend(request: Request) -> Any:
        return await sandbox.resend(_id(request))

    p = "/_sandbox"
    return [
        Route(f"{p}/state", _json(state), methods=["GET"]),
        Route(f"{p}/clock", _json(clock), methods=["GET", "POST"]),
        Route(f"{p}/requests", _json(requests), methods=["GET", "DELETE"]),
        Route(f"{p}/faults", _json(faults), methods=["GET", "POST", "DELETE"]),
        Route(f"{p}/faults/{{id:int}}", _json(remove_fault), methods=["DELETE"]),
        Route(f"{p}/inbound", _json(inbound, 202), methods=["POST"]),
        Route(f"{p}/deliveries", _json(deliveries), methods=["GET"]),
        Route(f"{p}/deliveries/{{id:int}}", _json(delivery), methods=["GET"]),
        Route(f"{p}/deliveries/{{id:int}}/resend", _json(resend, 202), methods=["POST"]),
    ]
