"""``intelepeer sms webhook set|get``: where IntelePeer posts each number's inbound SMS.

``set`` takes numbers from arguments, a file or stdin, checks every one before
sending anything, then sends them in chunks (several at once) and reports each
number's outcome. Passwords in webhook URLs are masked in everything printed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

import click

from ._bulk import bulk_exit_code, progress, run_bounded
from ._common import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_NETWORK,
    EXIT_USAGE,
    CliError,
    Settings,
    hide_url_password,
    json_flag,
    name_of,
    pass_settings,
    read_utf8,
)

if TYPE_CHECKING:
    from intelepeer_async import AsyncIntelePeer, WebhookResult

#: Numbers per request and requests at once: the SDK's own defaults for lists.
CHUNK_SIZE = 100
CONCURRENCY = 8


@click.group()
def webhook() -> None:
    """Set or read the inbound-SMS webhook of numbers."""


def _lines(stream: TextIO) -> Iterable[tuple[str, str]]:
    """(where, number) for each non-blank line that is not a ``#`` comment."""
    where = name_of(stream)
    for index, line in enumerate(read_utf8(stream).splitlines(), start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield f"line {index} of {where}", text


def gather_numbers(arguments: tuple[str, ...], file: TextIO | None) -> list[str]:
    """Every number from the arguments and the file (or piped stdin), checked, deduplicated.

    A malformed entry stops everything before a request is sent; the error
    names where it is (argument 3, line 17 of numbers.txt), never the value.
    """
    from intelepeer_async.types import validate_address

    found = [(f"argument {i}", n) for i, n in enumerate(arguments, start=1)]
    if file is not None:
        found += _lines(file)
    elif not arguments:
        stdin = sys.stdin
        if stdin.isatty():
            raise CliError(
                "no numbers: give them as arguments, with --file, or on stdin", EXIT_USAGE
            )
        found += _lines(stdin)
    if not found:
        raise CliError("no numbers given", EXIT_USAGE)
    numbers = [validate_address(number, where) for where, number in found]
    return list(dict.fromkeys(numbers))


def _failure_code(result: WebhookResult) -> int:
    if result.status is None:
        return EXIT_NETWORK
    if result.status in (401, 403):
        return EXIT_AUTH
    return EXIT_FAILED


def _as_json(result: WebhookResult) -> dict[str, Any]:
    data = result.model_dump(mode="json")
    data["webhook"] = hide_url_password(result.webhook)
    return {"number": result.number, "ok": result.ok, **data}


def _as_line(result: WebhookResult) -> str:
    if result.ok:
        return f"{result.number}  ok  {result.state or ''}".rstrip()
    if result.status is None:
        return f"{result.number}  failed  no response: {result.error}"
    return f"{result.number}  failed  HTTP {result.status}: {result.error}"


@webhook.command("set")
@click.argument("url")
@click.argument("numbers", nargs=-1)
@click.option(
    "--file",
    "file_",
    type=click.File("r"),
    help="Numbers, one per line ('-' = stdin; blank lines and # comments skipped).",
)
@json_flag
@pass_settings
def set_webhook(
    settings: Settings, url: str, numbers: tuple[str, ...], file_: TextIO | None
) -> None:
    """Point inbound SMS of NUMBERS at URL (user:pass@ in URL becomes Basic auth).

    Numbers come from the arguments, --file, or stdin when it is piped. Every
    number's outcome is printed; the exit code is 1 if any failed (3 or 4 when
    all failed for want of credentials or of a response).
    """
    from intelepeer_async.resources.webhooks import validate_webhook_url

    validate_webhook_url(url)
    wanted = gather_numbers(numbers, file_)
    chunks = [wanted[i : i + CHUNK_SIZE] for i in range(0, len(wanted), CHUNK_SIZE)]

    with progress(settings, len(wanted), "setting webhooks") as bar:

        async def go(ip: AsyncIntelePeer) -> list[list[WebhookResult]]:
            async def one(chunk: list[str]) -> list[WebhookResult]:
                return await ip.sms.webhooks.set(chunk, url)

            return await run_bounded(
                chunks,
                one,
                concurrency=CONCURRENCY,
                done=lambda chunk, _: bar.update(len(chunk)),
            )

        results = [r for chunk in settings.with_intelepeer(go) for r in chunk]

    failed = [r for r in results if not r.ok]
    summary = (
        f"{len(results) - len(failed)} of {len(results)} numbers now post to "
        f"{hide_url_password(url)}"
    )
    settings.emit([_as_json(r) for r in results], [*map(_as_line, results), summary])
    if failed:
        code = bulk_exit_code([_failure_code(r) for r in failed], len(results))
        raise CliError(f"{len(failed)} of {len(results)} numbers failed", code)


@webhook.command("get")
@click.argument("number")
@json_flag
@pass_settings
def get_webhook(settings: Settings, number: str) -> None:
    """The webhook configured for NUMBER, and its provisioning state."""

    async def go(ip: AsyncIntelePeer) -> Any:
        return await ip.sms.webhooks.get(number)

    config = settings.with_intelepeer(go)
    data = {**config.model_dump(mode="json"), "webhook": hide_url_password(config.webhook)}
    human = (
        f"{config.number}  {hide_url_password(config.webhook) or '(none)'}  {config.state or ''}"
    )
    settings.emit(data, human.rstrip())
