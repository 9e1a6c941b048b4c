"""``intelepeer agents``: SmartCommunicator agents, flag for flag as ``ip.agents``.

The customer is the global --customer-id (or INTELEPEER_CUSTOMER_ID); the SDK
checks --key-id against the values the API documents for each call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._common import Settings, count, fields, json_flag, pass_settings, table

if TYPE_CHECKING:
    from intelepeer_async import Agent, AsyncIntelePeer

F = TypeVar("F", bound=Callable[..., Any])

_READ_KEYS = "user_object_id (default), agent_id, upn, phone_number or consistency_id"
_WRITE_KEYS = "user_object_id (default), agent_id or consistency_id"


def key_id_option(allowed: str) -> Callable[[F], F]:
    return click.option("--key-id", metavar="FIELD", help=f"Which field AGENT_ID is: {allowed}.")


@click.group()
def agents() -> None:
    """SmartCommunicator agents of the customer (--customer-id)."""


def _show(settings: Settings, agent: Agent) -> None:
    data = agent.model_dump(mode="json")
    settings.emit(data, fields(data))


@agents.command("list")
@json_flag
@pass_settings
def list_agents(settings: Settings) -> None:
    """Every agent of the customer, active and offboarded."""

    async def go(ip: AsyncIntelePeer) -> list[Agent]:
        return await ip.agents.list()

    found = settings.with_intelepeer(go)
    rows = [(a.user_object_id, a.phone_number, a.upn, a.status) for a in found]
    settings.emit(
        [a.model_dump(mode="json") for a in found],
        [*table(("USER OBJECT ID", "PHONE", "UPN", "STATUS"), rows), count(len(found), "agent")],
    )


@agents.command()
@click.argument("agent_id")
@key_id_option(_READ_KEYS)
@json_flag
@pass_settings
def get(settings: Settings, agent_id: str, key_id: str | None) -> None:
    """One agent, by AGENT_ID."""

    async def go(ip: AsyncIntelePeer) -> Agent:
        return await ip.agents.get(agent_id, key_id=key_id)

    _show(settings, settings.with_intelepeer(go))


@agents.command()
@click.option("--user-object-id", required=True, metavar="ID", help="The Azure object id.")
@click.option("--tenant-id", required=True, metavar="ID", help="The Azure tenant id.")
@click.option("--phone-number", required=True, metavar="NUMBER", help="E.164.")
@click.option("--consistency-id", metavar="GUID", help="The MSDS consistency GUID.")
@click.option("--upn", metavar="UPN", help="The user principal name (e-mail form).")
@json_flag
@pass_settings
def onboard(
    settings: Settings,
    user_object_id: str,
    tenant_id: str,
    phone_number: str,
    consistency_id: str | None,
    upn: str | None,
) -> None:
    """Add an agent (never resent once it may have reached the server)."""

    async def go(ip: AsyncIntelePeer) -> Any:
        return await ip.agents.onboard(
            user_object_id=user_object_id,
            tenant_id=tenant_id,
            phone_number=phone_number,
            consistency_id=consistency_id,
            upn=upn,
        )

    result = settings.with_intelepeer(go)
    settings.emit(result.model_dump(mode="json"), f"onboarded: {result.message or 'ok'}")


@agents.command()
@click.argument("agent_id")
@key_id_option(_WRITE_KEYS)
@click.option("--phone-number", metavar="NUMBER", help="New number (E.164).")
@click.option("--upn", metavar="UPN")
@click.option("--user-object-id", metavar="ID")
@click.option("--tenant-id", metavar="ID")
@click.option("--consistency-id", metavar="GUID")
@click.option(
    "--transfer-data/--no-transfer-data",
    default=None,
    help="Send transfer_data true/false (the API does not document its effect).",
)
@json_flag
@pass_settings
def update(settings: Settings, /, agent_id: str, key_id: str | None, **changes: Any) -> None:
    """Change an agent; only the fields given are sent."""

    async def go(ip: AsyncIntelePeer) -> Agent:
        return await ip.agents.update(agent_id, key_id=key_id, **changes)

    _show(settings, settings.with_intelepeer(go))


@agents.command()
@click.argument("agent_id")
@key_id_option(_WRITE_KEYS)
@json_flag
@pass_settings
def offboard(settings: Settings, agent_id: str, key_id: str | None) -> None:
    """Offboard (delete) an agent."""

    async def go(ip: AsyncIntelePeer) -> Any:
        return await ip.agents.offboard(agent_id, key_id=key_id)

    result = settings.with_intelepeer(go)
    settings.emit(result.model_dump(mode="json"), f"offboarded ({result.status or 'ok'})")
