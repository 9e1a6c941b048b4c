"""A mount that also answers at its own path, without the trailing slash.

Starlette's `Mount("/sms", app)` matches ``/sms/...`` only; a POST to ``/sms``
gets a 307 to ``/sms/`` from the outer router. IntelePeer does not follow
redirects, and behind a TLS-terminating proxy the redirect even points at
``http://``: a message lost. `ReceiverMount` hands ``/sms`` to the receiver as
``/sms/``.
"""

from __future__ import annotations

from starlette.routing import Match, Mount
from starlette.types import Scope

__all__ = ["ReceiverMount"]


class ReceiverMount(Mount):
    """`Mount` that matches its path exactly, too (see the module docstring)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self.path:
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if path == root_path + self.path:
                match, child_scope = super().matches({**scope, "path": path + "/"})
                if match is Match.FULL:
                    child_scope["path"] = path + "/"
                return match, child_scope
        return super().matches(scope)
