"""Test helpers shared by several modules (not fixtures: plain functions)."""

from __future__ import annotations

import base64
import json


def make_jwt(claims: dict[str, object]) -> str:
    """An unsigned JWT-shaped token carrying `claims` (the client never verifies it)."""

    def part(obj: object) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"
