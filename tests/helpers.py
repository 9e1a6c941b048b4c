"""Test helpers shared by several modules (not fixtures: plain functions)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import respx


def make_jwt(claims: dict[str, object]) -> str:
    """An unsigned JWT-shaped token carrying `claims` (the client never verifies it)."""

    def part(obj: object) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


FIXTURES = Path(__file__).parent / "fixtures"


def fixture_text(name: str) -> str:
    """A seed example, byte for byte as the spec gives it."""
    return (FIXTURES / name).read_text()


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def seed_response(status: int, name: str) -> httpx.Response:
    """A response whose body is the seed example's exact bytes."""
    return httpx.Response(
        status, content=fixture_text(name).encode(), headers={"Content-Type": "application/json"}
    )


def sent_json(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)
