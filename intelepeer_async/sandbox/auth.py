"""Logins and credential checks: v4 tokens, SmartCommunicator JWTs, Yay.com headers.

Documented answers: v4 authenticate 200 ``{"token": ...}`` or 401
``{"code":401,"error":"Unauthorized"}``; the MDR page's 401 bodies
``{"detail":"unauthorized"}`` and ``{"error":"token has expired"}``; every Yay.com
answer is the ``{"result", "status_code", "status_message"}`` envelope.
"""

from __future__ import annotations

import hmac
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._web import answer, json_object, note, refuse, v4_error
from .state import World

__all__ = ["envelope", "routes", "smartcomm_refusal", "v4_json", "v4_refusal", "yay_account"]

#: The MDR page documents this body for a token past its 24 hours.
# Assumption: every v4 endpoint answers an expired token the same way.
EXPIRED = {"error": "token has expired"}
# Assumption: SmartCommunicator's 401 body is not documented ("you receive an error
# message"); this mirrors its documented 400 shape.
SMARTCOMM_UNAUTHORIZED = {"message": "Unauthorized", "status": 401}
SMARTCOMM_EXPIRED = {"message": "Token has expired", "status": 401}


def _same(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def _credentials_ok(world: World, body: dict[str, Any] | None) -> bool:
    if body is None:
        return False
    c = world.config
    # Both compared every time, so timing does not tell which one was wrong.
    user_ok = _same(body.get("username"), c.username)
    password_ok = _same(body.get("password"), c.password)
    return user_ok and password_ok


def _bearer(request: Request) -> str:
    """The token in ``Authorization: Bearer <t>``, or the bare ``Authorization: <t>``
    an older IntelePeer page shows (and SmartCommunicator expects)."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, rest = header.partition(" ")
    return rest.strip() if scheme.lower() == "bearer" and rest else header


def v4_refusal(world: World, request: Request, *, mdr: bool = False) -> Response | None:
    """None when the request carries a valid v4 token, else the documented 401."""
    status = world.token_status(world.v4_tokens, _bearer(request))
    if status == "valid":
        return None
    note(request, f"v4 token {status}")
    if status == "expired":
        return answer(EXPIRED, 401)
    return answer({"detail": "unauthorized"}, 401) if mdr else v4_error(401)


async def v4_json(world: World, request: Request) -> dict[str, Any] | Response:
    """The JSON-object body of a request with a valid v4 token, or the refusal."""
    refused = v4_refusal(world, request)
    if refused is not None:
        return refused
    body = await json_object(request)
    return refuse(request, 400, why="body is not a JSON object") if body is None else body


def smartcomm_refusal(world: World, request: Request) -> Response | None:
    """None when the request carries a valid SmartCommunicator JWT, else a 401."""
    status = world.token_status(world.smartcomm_tokens, _bearer(request))
    if status == "valid":
        return None
    note(request, f"SmartCommunicator token {status}")
    return answer(SMARTCOMM_EXPIRED if status == "expired" else SMARTCOMM_UNAUTHORIZED, 401)


def envelope(result: Any, status: int) -> Response:
    """Yay.com's answer shape; errors keep it with an empty `result`."""
    body = {"result": result, "status_code": status, "status_message": HTTPStatus(status).phrase}
    return answer(body, status)


def yay_account(world: World, request: Request) -> tuple[str, Response | None]:
    """The account a Yay.com request acts for ("" = the reseller), or its refusal.

    Checks the X-Auth-Reseller/User/Password triple (401), the required
    User-Agent (400) and X-Auth-For naming a known sub-account (403).
    """
    c = world.config
    h = request.headers
    checks = [
        _same(h.get("x-auth-reseller"), c.yay_reseller),
        _same(h.get("x-auth-user"), c.yay_user),
        _same(h.get("x-auth-password"), c.yay_password),
    ]
    if not all(checks):
        note(request, "X-Auth-Reseller, X-Auth-User or X-Auth-Password missing or wrong")
        return "", envelope({}, 401)
    if not h.get("user-agent"):
        note(request, "Yay.com requires a User-Agent header")
        return "", envelope({}, 400)
    acting_for = h.get("x-auth-for", "")
    if acting_for and acting_for not in c.yay_sub_accounts:
        note(request, "X-Auth-For names no sub-account of this reseller")
        return "", envelope({}, 403)
    return acting_for, None


def routes(world: World) -> list[BaseRoute]:
    async def v4_authenticate(request: Request) -> Response:
        body = await json_object(request)
        if body is None:
            note(request, "body is not a JSON object with username and password")
            return v4_error(400)
        if not _credentials_ok(world, body):
            note(request, "wrong username or password")
            return v4_error(401)
        return answer({"token": world.issue_v4_token()})

    async def smartcomm_authenticate(request: Request) -> Response:
        # Assumption: the page says "a 200 response with a token"; we send {"token": jwt}.
        body = await json_object(request)
        if not _credentials_ok(world, body):
            note(request, "wrong username or password")
            return answer(SMARTCOMM_UNAUTHORIZED, 401)
        return answer({"token": world.issue_smartcomm_token()})

    return [
        Route("/_rest/v4/authenticate", v4_authenticate, methods=["POST"]),
        Route(
            "/_rest/v4/app/sms/authenticate/get_portal_auth_token",
            v4_authenticate,
            methods=["POST"],
        ),
        Route("/rest/v1/authenticate", smartcomm_authenticate, methods=["POST"]),
    ]
