"""``intelepeer callflows``: Yay.com call flows (every call is billed by Yay.com).

``create`` checks the file's graph before anything is sent (or any credential is
needed) and lists every problem at once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TextIO

import click

from ._common import (
    EXIT_USAGE,
    CliError,
    Settings,
    count,
    json_flag,
    name_of,
    pass_settings,
    read_utf8,
    table,
)

if TYPE_CHECKING:
    from intelepeer_async import AsyncYay, CallFlow


@click.group()
def callflows() -> None:
    """Yay.com call flows: list, show (as Mermaid or DOT), create from JSON, delete."""


def _document(flow: CallFlow) -> dict[str, Any]:
    return flow.model_dump(mode="json", by_alias=True, exclude_none=True)


def load_flow(file: TextIO) -> CallFlow:
    """The call flow in `file` (Yay.com's JSON, with or without the ``result`` envelope).

    Raises `CliError` (usage) listing every problem; warnings go to stderr.
    """
    from pydantic import ValidationError

    from intelepeer_async import CallFlow

    where = name_of(file)
    try:
        data = json.loads(read_utf8(file))
    except ValueError as exc:
        raise CliError(f"{where} is not JSON: {exc}", EXIT_USAGE) from None
    if isinstance(data, dict) and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict):
        raise CliError(f"{where} must hold a JSON object (a call flow)", EXIT_USAGE)
    try:
        flow = CallFlow.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise CliError(
            f"{where} is not a valid call flow; nothing was sent", EXIT_USAGE, problems
        ) from None
    report = flow.validate()
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.errors:
        raise CliError(
            f"{where} is not a valid call flow; nothing was sent", EXIT_USAGE, report.errors
        )
    return flow


@callflows.command("list")
@json_flag
@pass_settings
def list_flows(settings: Settings) -> None:
    """Every active call flow on the account."""

    async def go(yay: AsyncYay) -> list[CallFlow]:
        return await yay.callflows.list()

    found = settings.with_yay(go)
    rows = [(f.uuid, f.extension, f.name, len(f.flow)) for f in found]
    settings.emit(
        [_document(f) for f in found],
        [*table(("UUID", "EXTENSION", "NAME", "MODULES"), rows), count(len(found), "call flow")],
    )


@callflows.command()
@click.argument("uuid")
@click.option("--mermaid", "drawing", flag_value="mermaid", help="Print a Mermaid flowchart.")
@click.option("--dot", "drawing", flag_value="dot", help="Print a Graphviz digraph.")
@json_flag
@pass_settings
def show(settings: Settings, uuid: str, drawing: str | None) -> None:
    """One call flow: a summary, its JSON (--json) or a diagram (--mermaid, --dot)."""
    from intelepeer_async.callflow import exits

    async def go(yay: AsyncYay) -> CallFlow:
        return await yay.callflows.get(uuid)

    flow = settings.with_yay(go)
    if drawing is not None:
        click.echo(flow.to_mermaid() if drawing == "mermaid" else flow.to_dot(), nl=False)
        return
    rows = [
        (
            key,
            getattr(module, "module", "?"),
            ", ".join(f"{lbl} -> {to}" for lbl, to in exits(module)),
        )
        for key, module in flow.flow.items()
    ]
    header = [f"{flow.name} (extension {flow.extension}, uuid {flow.uuid})"]
    settings.emit(_document(flow), [*header, *table(("KEY", "MODULE", "EXITS"), rows)])


@callflows.command()
@click.argument("file", type=click.File("r"))
@json_flag
@pass_settings
def create(settings: Settings, file: TextIO) -> None:
    """Create the call flow in FILE (JSON; '-' = stdin) after checking it."""
    flow = load_flow(file)

    async def go(yay: AsyncYay) -> CallFlow:
        return await yay.callflows.create(flow)

    created = settings.with_yay(go)
    settings.emit(
        _document(created),
        f"created {created.uuid}: {created.name} (extension {created.extension})",
    )


@callflows.command()
@click.argument("uuid")
@json_flag
@pass_settings
def delete(settings: Settings, uuid: str) -> None:
    """Delete the call flow UUID."""

    async def go(yay: AsyncYay) -> None:
        await yay.callflows.delete(uuid)

    settings.with_yay(go)
    settings.emit({"deleted": uuid}, f"deleted {uuid}")
