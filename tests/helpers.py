"""Test helpers shared by several modules (not fixtures: plain functions)."""

from __future__ import annotations

import base64
import json
import traceback
from collections.abc import Iterator
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


def secret_leaks(exc: BaseException, *secrets: str) -> list[str]:
    """Every place a secret shows in `exc` or its chain: message, args, repr,
    attributes, the formatted traceback, ``response.request.headers``, and the
    same for each ``__cause__`` and ``__context__`` (``raise X from None``
    still sets ``__context__``)."""
    found: list[str] = []
    seen: set[int] = set()

    def places(error: BaseException) -> Iterator[tuple[str, str]]:
        yield "str", str(error)
        yield "repr", repr(error)
        yield "args", repr(error.args)
        yield "traceback", "".join(traceback.format_exception(error))
        for name, value in vars(error).items():
            yield f"attribute {name}", repr(value)
        request = getattr(getattr(error, "response", None), "request", None)
        headers = getattr(request, "headers", None)
        if headers is not None:
            yield "response.request.headers", repr(headers) + repr(dict(headers))

    def walk(error: BaseException | None, path: str) -> None:
        if error is None or id(error) in seen:
            return
        seen.add(id(error))
        for where, text in places(error):
            found.extend(f"{path}{where}" for secret in secrets if secret in text)
        walk(error.__cause__, f"{path}__cause__.")
        walk(error.__context__, f"{path}__context__.")

    walk(exc, "")
    return found


def assert_no_secret(exc: BaseException, *secrets: str) -> None:
    leaks = secret_leaks(exc, *secrets)
    assert not leaks, f"a secret shows in {leaks}"
