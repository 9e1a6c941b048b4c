"""``intelepeer inbox``: the receiver's queued-mode inbox from a shell.

``list`` the dead letters, ``show`` one message, ``replay`` dead letters once
the handler is fixed, ``purge`` them for good, ``stats`` for the metrics. The
inbox is the one the receiver uses: ``--sqlite PATH`` or ``--redis URL`` (with
``--prefix`` if the receiver set one). Nothing here runs a handler: a replayed
message is run by the receiver's workers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from ._common import (
    EXIT_FAILED,
    EXIT_NETWORK,
    EXIT_USAGE,
    CliError,
    Settings,
    fields,
    json_flag,
    run,
    table,
)

if TYPE_CHECKING:
    from receiver.inbox import Inbox, InboxEntry

T = TypeVar("T")

REDIS_ENV = "INTELEPEER_INBOX_REDIS"


@dataclass
class Target:
    """Which inbox the command works on."""

    sqlite: Path | None
    redis: str | None
    prefix: str

    def open(self) -> Inbox:
        from intelepeer_async.errors import InvalidInputError
        from receiver import RedisInbox, SqliteInbox

        if self.sqlite is not None:
            if not self.sqlite.is_file():
                raise CliError(f"no inbox at {self.sqlite} (the receiver creates it)", EXIT_USAGE)
            try:
                return SqliteInbox.existing(self.sqlite)
            except InvalidInputError as exc:
                raise CliError(str(exc), EXIT_USAGE) from None
        assert self.redis is not None
        return RedisInbox(self.redis, prefix=self.prefix)

    def call(self, work: Callable[[Inbox], Awaitable[T]]) -> T:
        """Run `work` on the opened inbox; its failures become one ``error:`` line."""
        inbox = self.open()

        async def go() -> T:
            try:
                async with inbox:  # type: ignore[attr-defined]
                    return await work(inbox)
            except CliError:
                raise
            except Exception as exc:
                from intelepeer_async.errors import IntelePeerError

                if isinstance(exc, IntelePeerError):
                    raise
                raise CliError(
                    f"{inbox!r} failed: {type(exc).__name__}: {exc}", _exit_code(exc)
                ) from None

        return run(go)


def _exit_code(exc: Exception) -> int:
    """4 when Redis could not be reached (like any network failure), else 1."""
    try:
        from redis.exceptions import ConnectionError, TimeoutError
    except ModuleNotFoundError:
        return EXIT_FAILED
    return EXIT_NETWORK if isinstance(exc, ConnectionError | TimeoutError) else EXIT_FAILED


pass_target = click.make_pass_decorator(Target)


@click.group()
@click.option(
    "--sqlite",
    "sqlite_path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SqliteInbox file the receiver uses.",
)
@click.option(
    "--redis",
    "redis_url",
    metavar="URL",
    envvar=REDIS_ENV,
    help=f"The RedisInbox URL (redis://host:port/db) [env: {REDIS_ENV}].",
)
@click.option(
    "--prefix",
    default="intelepeer:inbox",
    show_default=True,
    help="The RedisInbox key prefix.",
)
@click.pass_context
def inbox(ctx: click.Context, sqlite_path: Path | None, redis_url: str | None, prefix: str) -> None:
    """The receiver's inbox (queued mode): dead letters, replay, metrics.

    \b
    Examples:
      intelepeer inbox --sqlite inbox.db list
      intelepeer inbox --redis redis://localhost:6379/0 replay --all
    """
    from_env = ctx.get_parameter_source("redis_url") is ParameterSource.ENVIRONMENT
    if sqlite_path is not None and redis_url is not None and from_env:
        redis_url = None  # an explicit --sqlite wins over the environment
    if (sqlite_path is None) == (redis_url is None):
        raise click.UsageError("give the inbox: --sqlite PATH or --redis URL (one of them)")
    ctx.obj = Target(sqlite_path, redis_url, prefix)


def _settings() -> Settings:
    """The global options (``--json``): the root command's, or defaults when run alone."""
    return click.get_current_context().find_object(Settings) or Settings()


def _when(moment: float | None) -> str | None:
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds")


def _short(text: str | None, width: int = 60) -> str | None:
    if text is None or len(text) <= width:
        return text
    return text[: width - 3] + "..."


@inbox.command("list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@json_flag
@pass_target
def list_(target: Target, limit: int) -> None:
    """The dead letters, oldest first: messages given up on after every attempt."""
    entries = target.call(lambda ib: ib.dead_letters(limit))
    rows = [(e.refid, e.attempts, _when(e.finished_at), _short(e.last_error)) for e in entries]
    human = (
        table(("REFID", "ATTEMPTS", "DEAD SINCE", "LAST ERROR"), rows)
        if entries
        else ["no dead letters"]
    )
    _settings().emit([e.to_json() for e in entries], human)


@inbox.command()
@click.argument("refid")
@json_flag
@pass_target
def show(target: Target, refid: str) -> None:
    """One message: its state, attempts, last error and (until handled) the message."""
    entry = target.call(lambda ib: ib.get(refid))
    if entry is None:
        raise CliError(f"no message {refid} in the inbox (or handled and forgotten)")
    _settings().emit(entry.to_json(), _describe(entry))


def _describe(entry: InboxEntry) -> list[str]:
    message = entry.message
    data: dict[str, Any] = {
        "refid": entry.refid,
        "state": entry.state,
        "attempts": entry.attempts,
        "received": _when(entry.received_at),
        "finished": _when(entry.finished_at),
        "next attempt": _when(entry.next_attempt_at),
        "last error": entry.last_error,
    }
    if message is not None:
        data.update({"from": message.from_, "to": message.to, "message": message.message})
    return fields(data)


def _each(
    target: Target,
    refids: tuple[str, ...],
    every: bool,
    action: Callable[[Inbox, str], Awaitable[bool]],
) -> tuple[list[str], list[str]]:
    """Apply `action` to the refids (or every dead letter): (done, not dead letters).

    With `every`, each dead letter is acted on once: a replayed message that the
    running workers dead-letter again while this goes on is seen again (the oldest
    come first) and left for the next time, so the command ends however fast they are.
    """
    if every == bool(refids):
        raise click.UsageError("give REFID... or --all (one of them)")

    async def work(ib: Inbox) -> tuple[list[str], list[str]]:
        done: list[str] = []
        missing: list[str] = []
        if every:
            seen: set[str] = set()
            while fresh := [e.refid for e in await ib.dead_letters(1000) if e.refid not in seen]:
                seen.update(fresh)
                for refid in fresh:
                    if await action(ib, refid):
                        done.append(refid)
            return done, missing
        for refid in dict.fromkeys(refids):
            (done if await action(ib, refid) else missing).append(refid)
        return done, missing

    return target.call(work)


def _report(verb: str, done: list[str], missing: list[str]) -> None:
    human = [f"{verb} {len(done)} dead letter(s)"]
    human += [f"not a dead letter: {refid}" for refid in missing]
    _settings().emit({verb: done, "not_dead_letters": missing}, human)
    if missing:
        raise CliError(f"{len(missing)} refid(s) were not dead letters")


@inbox.command()
@click.argument("refids", nargs=-1, metavar="[REFID]...")
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@json_flag
@pass_target
def replay(target: Target, refids: tuple[str, ...], every: bool) -> None:
    """Queue dead letters again, with a fresh attempt count (fix the handler first).

    The receiver's workers run them; handlers that had succeeded are not run again.
    """
    done, missing = _each(target, refids, every, lambda ib, refid: ib.replay(refid))
    _report("replayed", done, missing)


@inbox.command()
@click.argument("refids", nargs=-1, metavar="[REFID]...")
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@click.option("--yes", is_flag=True, help="Confirm --all.")
@json_flag
@pass_target
def purge(target: Target, refids: tuple[str, ...], every: bool, yes: bool) -> None:
    """Delete dead letters for good (their refids are forgotten too)."""
    if every and not yes:
        raise click.UsageError("purge --all deletes every dead letter for good: add --yes")
    done, missing = _each(target, refids, every, lambda ib, refid: ib.purge(refid))
    _report("purged", done, missing)


@inbox.command()
@json_flag
@pass_target
def stats(target: Target) -> None:
    """The inbox's metrics: counters since it was created, and the queue now."""
    metrics = target.call(lambda ib: ib.metrics())
    data = metrics.to_json()
    human = [f"{name}: {'-' if value is None else value}" for name, value in data.items()]
    _settings().emit(data, human)
