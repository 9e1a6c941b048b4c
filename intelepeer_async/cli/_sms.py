"""``intelepeer sms``: send, status, provision, and ``sms webhook`` (see `_webhooks`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

import click

from ._common import Settings, json_flag, pass_settings, read_utf8
from ._webhooks import webhook

if TYPE_CHECKING:
    from intelepeer_async import AsyncIntelePeer


@click.group()
def sms() -> None:
    """Send SMS/MMS, read delivery status, provision numbers, set webhooks."""


sms.add_command(webhook)


@sms.command()
@click.option(
    "--from",
    "from_",
    required=True,
    metavar="SENDER",
    help="E.164 number, short code (1-12345) or sender id (57-Hello8).",
)
@click.option("--to", required=True, metavar="NUMBER", help="E.164 destination.")
@click.option("--text", metavar="TEXT", help="The message; '-' reads it from stdin.")
@click.option(
    "--media-link", multiple=True, metavar="URL", help="Attach media (an MMS); repeatable."
)
@click.option("--guid", metavar="ID", help="Your correlation id, kept in the message record.")
@click.option("--dlr", is_flag=True, help="Ask for delivery receipts.")
@json_flag
@pass_settings
def send(
    settings: Settings,
    from_: str,
    to: str,
    text: str | None,
    media_link: tuple[str, ...],
    guid: str | None,
    dlr: bool,
) -> None:
    """Send one SMS (or an MMS with --media-link). Billed: never resent blindly.

    If the call times out after the request went out, the exit code is 4 and the
    message says it may have been sent: check with 'sms status' before resending.
    """
    if text == "-":
        text = read_utf8(sys.stdin).rstrip("\n")
    media = [{"link": link} for link in media_link]

    async def go(ip: AsyncIntelePeer) -> Any:
        return await ip.sms.send(
            from_=from_, to=to, text=text or "", guid=guid, dlr=dlr, media=media or None
        )

    result = settings.with_intelepeer(go)
    human = (
        f"sent (HTTP {result.status_code}), refid {result.refid}"
        if result.refid
        else f"sent (HTTP {result.status_code}); the answer carried no refid"
    )
    settings.emit(result.model_dump(mode="json"), human)


@sms.command()
@click.argument("refid")
@click.option(
    "--post", is_flag=True, help="Ask with POST instead of GET (the vendor's pages disagree)."
)
@json_flag
@pass_settings
def status(settings: Settings, refid: str, post: bool) -> None:
    """The delivery state of a sent SMS, from its REFID."""
    method: Literal["GET", "POST"] = "POST" if post else "GET"

    async def go(ip: AsyncIntelePeer) -> Any:
        return await ip.sms.status(refid, method=method)

    result = settings.with_intelepeer(go)
    settings.emit(result.model_dump(mode="json"), f"{result.rcc_en or '?'} ({result.state})")


@sms.command()
@click.argument("number")
@json_flag
@pass_settings
def provision(settings: Settings, number: str) -> None:
    """Enable SMS on NUMBER (takes minutes; exit 1 with HTTP 409 if already in progress)."""

    async def go(ip: AsyncIntelePeer) -> Any:
        return await ip.sms.provision(number)

    result = settings.with_intelepeer(go)
    state = result.state or f"accepted (HTTP {result.code})"
    settings.emit(result.model_dump(mode="json"), f"provisioning {state}")
