"""Atmosphere messaging: send, message status (MDR), provisioning, webhooks per number.

Documented (seed 003, API-FACTS): webhook set 201 single / 207 bulk with a status
per number; 400 for a number not in E.164, a number without SMS, or a bad URL;
404 for a number not on the account; GET ``?endpoint=%2B...``. Provision answers
202 ``{"code":202,"provisioning":{"state":"requested"}}`` and 409 while in progress.
MDR 200 ``{"code":200,"RCC_en":"Queued","RCC":0}``, 404 record not found.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..errors import InvalidInputError
from ..models.sms import MAX_INLINE_MEDIA_BYTES
from ..resources.webhooks import validate_webhook_url
from ..types import is_e164, is_short_code
from ._web import answer, json_object, refuse
from .auth import v4_json, v4_refusal
from .config import is_sender_id
from .state import RCC, Number, OutboundMessage, World, new_refid

__all__ = ["endpoint_problem", "routes", "set_webhook"]

BAD_FORMAT = "The telephone number is not in the proper E.164 format"
NOT_ENABLED = "The telephone number has not been enabled for SMS"
NOT_AVAILABLE = "The telephone number is not available for use by the customer"
BAD_URL = "Improperly-formatted URL provided for the webhook"


def _lookup(world: World, value: object) -> tuple[int, str] | Number:
    """The account's number, or the documented (status, text) refusal."""
    if not (is_e164(value) or is_short_code(value)):
        return 400, BAD_FORMAT
    assert isinstance(value, str)
    number = world.numbers.get(value)
    return (404, NOT_AVAILABLE) if number is None else number


def endpoint_problem(world: World, value: object) -> tuple[int, str] | Number:
    """A number whose webhook may be set, or why not (seed 003's 400/404 reasons)."""
    found = _lookup(world, value)
    if isinstance(found, Number) and not world.sms_ready(found):
        return 400, NOT_ENABLED
    return found


def _webhook_view(world: World, number: Number) -> dict[str, Any]:
    return {
        "tnkey": number.number,
        "webhook": number.webhook,
        "provisioning": {"state": world.provisioning_state(number)},
    }


def set_webhook(world: World, endpoints: list[Any], webhook: str) -> tuple[int, dict[str, Any]]:
    """Seed 003's rules: one number 201 (or its error status); several, 207 with each."""
    results: list[tuple[int, dict[str, Any]]] = []
    for value in endpoints:
        found = endpoint_problem(world, value)
        if isinstance(found, Number):
            found.webhook = webhook
            results.append((201, _webhook_view(world, found)))
        else:
            results.append((found[0], {"code": found[0], "error": found[1]}))
    if len(results) == 1:
        status, body = results[0]
        return status, {"code": status, **body} if status == 201 else body
    # Assumption: the seed shows only successful entries; a failed one carries
    # its status and the single-request error body as its "response".
    entries = [
        {"status": status, "endpoint": value, "response": body}
        for value, (status, body) in zip(endpoints, results, strict=True)
    ]
    return 207, {"code": 207, "endpoints": entries}


def _media_problem(media: object) -> str | None:
    if not isinstance(media, list) or not all(isinstance(m, dict) for m in media):
        return "media must be a list of objects"
    total = 0
    for item in media:
        if ("link" in item) == ("data" in item):
            return "each media item needs exactly one of link or data"
        data = item.get("data")
        if isinstance(data, str):
            try:
                total += len(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError):
                total += len(data.encode())
    if total > MAX_INLINE_MEDIA_BYTES:
        return "inline media over 5 MB"
    return None


def _send_problem(world: World, body: dict[str, Any]) -> tuple[int, str] | None:
    """Why a send is refused; codes and reasons follow the legacy send page."""
    sender, to, text, media = body.get("from"), body.get("to"), body.get("text"), body.get("media")
    if not isinstance(sender, str) or not isinstance(to, str):
        return 400, "from and to are required"
    if not is_e164(to):
        return 400, BAD_FORMAT
    if media is not None and (problem := _media_problem(media)):
        return 400, problem
    if not isinstance(text, str) or (not text and not media):
        return 400, "text is required"
    if is_sender_id(sender):  # not a number: registered or not, no SMS enablement
        if sender not in world.config.sender_ids:
            return 404, NOT_AVAILABLE
    else:
        found = _lookup(world, sender)
        if not isinstance(found, Number):
            return found
        if not world.sms_ready(found):
            return 400, NOT_ENABLED
    if not to.startswith("+1") and not world.config.allow_international:
        return 403, "International destination unavailable"
    return None


def routes(world: World) -> list[BaseRoute]:
    async def send(request: Request) -> Response:
        body = await v4_json(world, request)
        if isinstance(body, Response):
            return body
        problem = _send_problem(world, body)
        if problem is not None:
            return refuse(request, *problem)
        guid = body.get("guid")
        message = OutboundMessage(
            refid=new_refid(),
            from_=body["from"],
            to=body["to"],
            text=body["text"],
            created_at=world.now(),
            guid=guid if isinstance(guid, str) else None,
            dlr=body.get("dlr") is True,
            media=len(body.get("media") or []),
        )
        world.add_message(message)
        # Assumption: the v4 send answer is undocumented; the legacy send answers 202.
        reply: dict[str, Any] = {"code": 202, "refid": message.refid, "status": "Queued"}
        if message.guid is not None:
            reply["guid"] = message.guid
        return answer(reply, 202)

    async def mdr(request: Request) -> Response:
        refused = v4_refusal(world, request, mdr=True)
        if refused is not None:
            return refused
        if request.method == "GET":
            refid: object = request.query_params.get("refid")
        else:
            body = await json_object(request)
            refid = body.get("refid") if body is not None else None
        if not isinstance(refid, str) or not refid:
            return refuse(request, 400, "refid is required")
        message = world.messages.get(refid)
        if message is None or message.media:
            # The MDR covers SMS only: an MMS has no record here.
            return refuse(request, 404, "record not found", why="no SMS with this refid")
        state = message.status(world.now(), world.config)
        return answer({"code": 200, "RCC_en": state, "RCC": RCC[state]})

    async def provision(request: Request) -> Response:
        body = await v4_json(world, request)
        if isinstance(body, Response):
            return body
        endpoints = body.get("endpoints")
        if not isinstance(endpoints, list) or len(endpoints) != 1:
            return refuse(request, 400, "endpoints must list exactly one number")
        found = _lookup(world, endpoints[0])
        if not isinstance(found, Number):
            return refuse(request, *found)
        state = world.provisioning_state(found)
        if state == "provisioned":
            # Assumption: asking again for a number that has SMS is a 400 with its reason.
            return refuse(request, 400, "The telephone number is already enabled for SMS")
        if state is not None:
            text = "Provisioning is already in progress for this number"
            return refuse(request, 409, text, why=f"provisioning in progress ({state})")
        found.requested_at = world.now()
        return answer({"code": 202, "provisioning": {"state": "requested"}}, 202)

    async def webhook_set(request: Request) -> Response:
        body = await v4_json(world, request)
        if isinstance(body, Response):
            return body
        endpoints = body.get("endpoints")
        if not isinstance(endpoints, list) or not endpoints:
            return refuse(request, 400, "endpoints must be a non-empty list")
        try:
            url = validate_webhook_url(body.get("webhook"))
        except InvalidInputError:
            return refuse(request, 400, BAD_URL)
        status, reply = set_webhook(world, endpoints, url)
        return answer(reply, status)

    async def webhook_get(request: Request) -> Response:
        refused = v4_refusal(world, request)
        if refused is not None:
            return refused
        found = _lookup(world, request.query_params.get("endpoint"))
        if isinstance(found, Number) and world.provisioning_state(found) is None:
            # Assumption: a number never provisioned has no webhook record at all.
            found = (400, NOT_ENABLED)
        if not isinstance(found, Number):
            return refuse(request, *found)
        return answer({"code": 200, **_webhook_view(world, found)})

    return [
        Route("/_rest/v4/app/sms/send", send, methods=["POST"]),
        Route("/_rest/v4/app/sms/mdr", mdr, methods=["GET", "POST"]),
        Route("/_rest/v4/my/did/sms/provision", provision, methods=["POST"]),
        Route("/_rest/v4/my/did/sms/webhook", webhook_set, methods=["POST"]),
        Route("/_rest/v4/my/did/sms/webhook", webhook_get, methods=["GET"]),
    ]
