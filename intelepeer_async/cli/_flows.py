"""``intelepeer flows trigger``: start a SmartFlow once, or once per row of a CSV.

A trigger may text or call someone, so a CSV is checked whole before the first
row is sent, and a row that failed after it may have reached IntelePeer says so
instead of being resent.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TextIO

import click

from ._bulk import bulk_exit_code, progress, run_bounded
from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    Settings,
    describe,
    exit_code_of,
    json_flag,
    pass_settings,
    read_utf8,
)

if TYPE_CHECKING:
    from intelepeer_async import AsyncIntelePeer

#: Rows triggered at once from a CSV.
CONCURRENCY = 4
_MAX_LISTED = 20


@click.group()
def flows() -> None:
    """Trigger SmartFlows from outside (the flow's Inbound API trigger)."""


def _variable(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    variables: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}")
        variables[name] = value
    return variables


@dataclass
class Trigger:
    """One trigger to send: from the flags, or one CSV row (`row` is its line number)."""

    row: int
    ani: str
    dnis: str
    variables: dict[str, str]


@dataclass
class Outcome:
    """What happened to one row (the JSON shape of a CSV run)."""

    row: int
    ok: bool
    status: int | None = None
    error: str | None = None
    may_have_been_processed: bool | None = None
    code: int = 0


def read_rows(
    file: TextIO, ani: str | None, dnis: str | None, variables: dict[str, str]
) -> list[Trigger]:
    """Every row of the CSV as a `Trigger`, all checked before anything is sent.

    Columns ``ANI`` and ``DNIS`` (any case) give the numbers, falling back to
    --ani/--dnis; every other column is a variable named as its header, on top of
    the --var values. Problems are listed by row number, never by value.
    """
    from intelepeer_async.errors import InvalidInputError
    from intelepeer_async.types import validate_e164

    reader = csv.DictReader(io.StringIO(read_utf8(file), newline=""))
    triggers: list[Trigger] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"row {line}: more fields than the header")
            continue
        numbers = {"ANI": ani, "DNIS": dnis}
        row_variables = dict(variables)
        row_problems = len(problems)
        for header, value in row.items():
            if header.upper() in numbers:
                numbers[header.upper()] = value or numbers[header.upper()]
            elif header:
                row_variables[header] = value or ""
        for field, value in numbers.items():
            try:
                validate_e164(value, field)
            except InvalidInputError as exc:
                problems.append(f"row {line}: {exc}" if value else f"row {line}: no {field}")
        if len(problems) == row_problems:
            assert numbers["ANI"] is not None and numbers["DNIS"] is not None
            triggers.append(Trigger(line, numbers["ANI"], numbers["DNIS"], row_variables))
    if problems:
        listed = problems[:_MAX_LISTED]
        if len(problems) > _MAX_LISTED:
            listed.append(f"... and {len(problems) - _MAX_LISTED} more")
        raise CliError(
            f"{len(problems)} problem(s) in the CSV; nothing was sent", EXIT_USAGE, listed
        )
    if not triggers:
        raise CliError("the CSV has no rows (a header line, then one row per trigger)", EXIT_USAGE)
    return triggers


async def _send(ip: AsyncIntelePeer, flow_id: str, trigger: Trigger, legacy: bool) -> Outcome:
    """One row's trigger; a failure becomes its outcome, so the other rows go on."""
    from intelepeer_async.errors import APIConnectionError, APIStatusError, IntelePeerError

    try:
        result = await ip.smartflows.trigger(
            flow_id, ani=trigger.ani, dnis=trigger.dnis, variables=trigger.variables, legacy=legacy
        )
    except IntelePeerError as exc:
        return Outcome(
            row=trigger.row,
            ok=False,
            status=exc.status_code if isinstance(exc, APIStatusError) else None,
            error=describe(exc),
            may_have_been_processed=exc.may_have_been_processed
            if isinstance(exc, APIConnectionError)
            else False,
            code=exit_code_of(exc),
        )
    if not result.accepted:
        return Outcome(
            row=trigger.row,
            ok=False,
            status=result.status_code,
            error="not accepted (the answer was false)",
            may_have_been_processed=True,
            code=EXIT_FAILED,
        )
    return Outcome(row=trigger.row, ok=True, status=result.status_code)


def _line(outcome: Outcome) -> str:
    if outcome.ok:
        return f"row {outcome.row}: accepted (HTTP {outcome.status})"
    return f"row {outcome.row}: failed: {outcome.error}"


@flows.command()
@click.argument("flow_id")
@click.option("--ani", metavar="NUMBER", help="Who the flow texts or calls (E.164).")
@click.option("--dnis", metavar="NUMBER", help="The caller ID, a number on your account (E.164).")
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_variable,
    help="A flow variable ($NAME in the flow; case-sensitive); repeatable.",
)
@click.option("--legacy", is_flag=True, help="Use the older smart-flows.intelepeer.com/v2 URL.")
@click.option(
    "--csv",
    "csv_file",
    type=click.File("r", encoding="utf-8-sig"),
    help="Trigger once per row: columns ANI, DNIS and variables ('-' = stdin).",
)
@json_flag
@pass_settings
def trigger(
    settings: Settings,
    flow_id: str,
    ani: str | None,
    dnis: str | None,
    variables: dict[str, str],
    legacy: bool,
    csv_file: TextIO | None,
) -> None:
    """Start flow FLOW_ID. Variable values are sent as strings.

    With --csv every row is checked first, then triggered (a few at once) and
    reported; a row that timed out after it may have run is marked so, never
    resent. --ani, --dnis and --var give defaults for the CSV's missing cells.
    """
    if csv_file is None:
        if ani is None or dnis is None:
            raise click.UsageError("--ani and --dnis are required (or --csv FILE)")

        async def once(ip: AsyncIntelePeer) -> Any:
            return await ip.smartflows.trigger(
                flow_id, ani=ani, dnis=dnis, variables=variables, legacy=legacy
            )

        result = settings.with_intelepeer(once)
        settings.emit(
            result.model_dump(mode="json"),
            f"flow {'accepted' if result.accepted else 'NOT accepted'} (HTTP {result.status_code})",
        )
        if not result.accepted:
            raise CliError("the server answered but did not accept the trigger", EXIT_FAILED)
        return

    triggers = read_rows(csv_file, ani, dnis, variables)
    with progress(settings, len(triggers), "triggering") as bar:

        async def every(ip: AsyncIntelePeer) -> list[Outcome]:
            async def one(t: Trigger) -> Outcome:
                return await _send(ip, flow_id, t, legacy)

            return await run_bounded(
                triggers, one, concurrency=CONCURRENCY, done=lambda _t, _o: bar.update(1)
            )

        outcomes = settings.with_intelepeer(every)

    failed = [o for o in outcomes if not o.ok]
    documents = [{k: v for k, v in asdict(o).items() if k != "code"} for o in outcomes]
    summary = f"{len(outcomes) - len(failed)} of {len(outcomes)} rows accepted"
    settings.emit(documents, [*map(_line, outcomes), summary])
    if failed:
        code = bulk_exit_code([o.code for o in failed], len(outcomes))
        raise CliError(f"{len(failed)} of {len(outcomes)} rows failed", code)
