"""``intelepeer sandbox``: serve the simulator, or send it an inbound SMS.

    intelepeer sandbox [--host 127.0.0.1] [--port 8765] [--config FILE] [flags]
    intelepeer sandbox send-inbound --from +17205551212 --to +13035550100 --message "hi"

Serving prints the base URL as the first line of standard output (``--port 0``
picks a free port, so scripts read the URL from there), then a short summary,
and runs until SIGINT or SIGTERM, exiting 0. Flags override the config file
(JSON or TOML with `SandboxConfig`'s field names). `sandbox_command` is a click
group; the ``intelepeer`` command registers it, and
``python -m intelepeer_async.sandbox`` runs it directly.

Exit codes are the ``intelepeer`` command's: 0 done; 1 the simulator refused
the request (its reason on the ``error:`` line) or could not listen; 2 bad
usage or configuration; 4 the simulator could not be reached.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import Any

import click

from ..cli._common import EXIT_NETWORK, CliError, hide_numbers, hide_url_password

__all__ = ["sandbox_command"]

DEFAULT_PORT = 8765


def _config(config_file: Path | None, overrides: dict[str, Any]) -> Any:
    from ..errors import InvalidInputError
    from .config import SandboxConfig

    try:
        if config_file is not None:
            return SandboxConfig.load(config_file, **overrides)
        return SandboxConfig.build(overrides)
    except InvalidInputError as exc:
        raise click.UsageError(str(exc)) from None


def _faults(values: tuple[str, ...]) -> list[Any]:
    faults = []
    for value in values:
        try:
            faults.append(json.loads(value))
        except ValueError:
            raise click.BadParameter(f"not JSON: {value!r}", param_hint="--fault") from None
    return faults


def _summary(config: Any, url: str) -> list[str]:
    from .state import shown

    def masked(value: str) -> str:
        return shown(value, "demo")

    first, last = config.sms_numbers[:1], config.sms_numbers[-1:]
    numbers = f"{first[0]}..{last[0]}" if first else "none"
    return [
        f"IntelePeer: username {config.username}, password {masked(config.password)}, "
        f"customer {config.customer_id}, SMS numbers {numbers}",
        f"Yay.com: reseller {config.yay_reseller}, user {config.yay_user}, "
        f"password {masked(config.yay_password)}",
        f"Control API: {url}/_sandbox/state (clock, faults, inbound, deliveries, requests)",
        "Stop with Ctrl-C.",
    ]


def _announce(lines: list[str]) -> None:
    """Print the URL and the summary. A reader that went away (``| head -1`` has the URL)
    is no reason to stop serving: the simulator goes on, silently, until signalled."""
    try:
        for line in lines:
            click.echo(line)
        sys.stdout.flush()
    except BrokenPipeError:
        # Later writes, and the interpreter's own flush at exit, go nowhere instead of
        # failing again (the recipe of the `signal` module's note on SIGPIPE).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _serve(config: Any, host: str, port: int) -> None:
    import anyio

    from .server import serve

    async def main() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with AsyncExitStack() as stack:
                try:
                    server = await stack.enter_async_context(serve(config, host=host, port=port))
                except OSError as exc:  # only the bind: nothing else is "cannot listen"
                    raise click.ClickException(
                        f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                    ) from None
                _announce([server.url, *_summary(config, server.url)])
                async for _ in signals:
                    break

    with suppress(KeyboardInterrupt):  # Ctrl-C before the signal handler was in place
        anyio.run(main)


@click.group(
    "sandbox",
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="0 picks a free port (printed as the first line).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON or TOML file with SandboxConfig fields.",
)
@click.option("--username", help="IntelePeer login (default demo).")
@click.option("--password", help="IntelePeer password (default demo).")
@click.option("--customer-id", type=int, help="SmartCommunicator customer id (default 12345678).")
@click.option("--token-lifetime", type=float, help="v4 token lifetime, virtual seconds.")
@click.option(
    "--clock-rate", type=float, help="Virtual seconds per real second (0: only advance moves it)."
)
@click.option("--seed", type=int, help="Seed for fault probabilities.")
@click.option(
    "--signature",
    type=click.Choice(["shared_code", "hmac", "none"]),
    help="How inbound SMS are signed.",
)
@click.option("--shared-code", help="Shared code sent as the inbound signature.")
@click.option("--hmac-secret", help="Account secret for HMAC inbound signatures.")
@click.option(
    "--allow-remote-delivery",
    is_flag=True,
    default=None,
    help="Deliver inbound SMS to non-loopback webhooks too.",
)
@click.option("--fault", "faults", multiple=True, help="A fault as JSON (repeatable).")
@click.pass_context
def sandbox_command(
    ctx: click.Context,
    /,
    host: str,
    port: int,
    config_file: Path | None,
    faults: tuple[str, ...],
    **options: Any,
) -> None:
    """Run the local IntelePeer and Yay.com simulator (no account needed)."""
    if ctx.invoked_subcommand is not None:
        return
    overrides = {name: value for name, value in options.items() if value is not None}
    if faults:
        overrides["faults"] = _faults(faults)
    _serve(_config(config_file, overrides), host, port)


@sandbox_command.command("send-inbound")
@click.option("--from", "from_", required=True, help="Sender, E.164 or short code.")
@click.option("--to", required=True, help="An SMS-enabled number of the sandbox account.")
@click.option("--message", required=True, help="The text.")
@click.option(
    "--url",
    default=f"http://127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    envvar="INTELEPEER_SANDBOX_URL",
    help="The running simulator (or INTELEPEER_SANDBOX_URL).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the simulator's whole answer.")
def send_inbound(from_: str, to: str, message: str, url: str, as_json: bool) -> None:
    """Make an SMS arrive on TO; the simulator POSTs it to that number's webhook."""
    from urllib.parse import urlsplit

    import httpx

    from .delivery import is_loopback_host

    if not url.startswith(("http://", "https://")):
        raise click.BadParameter(f"not an http(s) URL: {url!r}", param_hint="--url")
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        raise click.BadParameter("not an http(s) URL", param_hint="--url") from None
    body = {"from": from_, "to": to, "message": message}
    shown = hide_url_password(url)  # a URL with Basic-auth credentials, shown without them
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/_sandbox/inbound",
            json=body,
            timeout=60,
            trust_env=not is_loopback_host(host),  # an HTTP_PROXY never reaches loopback
        )
    except httpx.HTTPError as exc:
        raise CliError(
            f"no response from the sandbox at {shown} ({type(exc).__name__}): "
            "is 'intelepeer sandbox' running there?",
            EXIT_NETWORK,
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if response.status_code >= 400 and answer.get("error"):
        raise CliError(hide_numbers(str(answer["error"])))  # the simulator's refusal
    deliveries = answer.get("deliveries")
    if response.status_code >= 400 or not isinstance(deliveries, list):
        raise CliError(f"HTTP {response.status_code} from {shown}: not a sandbox's answer")
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    for delivery in deliveries:
        attempts = delivery["attempts"]
        outcome = attempts[-1]["status"] or attempts[-1]["error"] if attempts else "scheduled"
        click.echo(
            f"refid {delivery['refid']}: delivery {delivery['id']} {delivery['state']} "
            f"(attempt {len(attempts)}: {outcome})"
        )
