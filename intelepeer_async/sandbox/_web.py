"""Small helpers the route modules share: JSON in and out, notes for the request log."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = [
    "RECORD_KEY",
    "SandboxError",
    "answer",
    "json_body",
    "json_object",
    "note",
    "refuse",
    "v4_error",
]

#: Where the app puts the request's log record in the ASGI scope.
RECORD_KEY = "intelepeer.sandbox.record"


class SandboxError(Exception):
    """A request the simulator refuses (over the control API, or a `Sandbox` method such
    as ``advance`` or ``add_fault`` called directly): `status` and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(message)


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def v4_error(status: int, text: str | None = None) -> Response:
    """The Atmosphere v4 error shape, as the authenticate page shows it."""
    return answer({"code": status, "error": text or HTTPStatus(status).phrase}, status)


def refuse(request: Request, status: int, text: str | None = None, *, why: str = "") -> Response:
    """A v4 error answer, its reason noted in the request log."""
    note(request, why or text or HTTPStatus(status).phrase)
    return v4_error(status, text)


def note(request: Request, text: str) -> None:
    """Say why a request was refused, at ``GET /_sandbox/requests`` (not in the answer,
    whose body stays as the vendor documents it)."""
    record = request.scope.get(RECORD_KEY)
    if record is not None:
        record.note = text


async def json_body(request: Request) -> tuple[Any, bool]:
    """The parsed JSON body and True, or (None, False) if it is missing or not JSON."""
    raw = await request.body()
    if not raw:
        return None, False
    try:
        return json.loads(raw), True
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None, False


async def json_object(request: Request) -> dict[str, Any] | None:
    """The body if it is a JSON object, else None."""
    value, ok = await json_body(request)
    return value if ok and isinstance(value, dict) else None
