"""``intelepeer receive MODULE:ATTRIBUTE``: serve an inbound-SMS receiver with uvicorn.

uvicorn runs on asyncio only, so this command does too (the receiver itself
runs under any anyio backend when served by another server, e.g. hypercorn).
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import click

from ._common import EXIT_USAGE, CliError


def load_app(target: str) -> Any:
    """The ASGI app named by ``module:attribute``: an `SmsReceiver`'s ``.app``, or the app.

    As with uvicorn, the current directory is importable.
    """
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter(
            f"expected MODULE:ATTRIBUTE (e.g. myservice.sms:rx), got {target!r}",
            param_hint="MODULE:ATTRIBUTE",
        )
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name + ".").startswith(exc.name + "."):
            raise CliError(
                f"no module named {module_name!r} (run from the directory that holds it)",
                EXIT_USAGE,
            ) from None
        raise CliError(f"importing {module_name!r} failed: {exc}", EXIT_USAGE) from None
    except Exception as exc:
        raise CliError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}", EXIT_USAGE
        ) from None
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise CliError(f"{module_name!r} has no attribute {attribute!r}", EXIT_USAGE) from None

    from receiver import SmsReceiver

    if isinstance(obj, SmsReceiver):
        return obj.app
    if callable(obj):
        return obj
    raise CliError(
        f"{target} is a {type(obj).__name__}, not an SmsReceiver or an ASGI app", EXIT_USAGE
    )


@click.command()
@click.argument("target", metavar="MODULE:ATTRIBUTE")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port (uvicorn's start-up line shows it).",
)
def receive(target: str, host: str, port: int) -> None:
    """Serve the SmsReceiver (or any ASGI app) at MODULE:ATTRIBUTE until Ctrl-C.

    \b
    Example:
      intelepeer receive myservice.sms:rx --port 8000
    """
    app = load_app(target)

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port))
    try:
        server.run()
    except SystemExit:
        pass  # uvicorn logged why it could not start; reported below
    except KeyboardInterrupt:
        pass  # uvicorn has shut down gracefully: Ctrl-C is how a server stops
    if not server.started:
        raise CliError(f"the receiver did not start on {host}:{port} (see the log above)")
