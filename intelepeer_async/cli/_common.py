"""What every command shares: credentials and settings, output, errors and exit codes.

Kept free of heavy imports at module level (the SDK, httpx, pydantic and anyio
load inside the functions that need them), so ``intelepeer --help`` stays as
cheap as click itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click

if TYPE_CHECKING:
    from intelepeer_async import AsyncIntelePeer, AsyncYay

T = TypeVar("T")

# Exit codes: documented in `intelepeer --help` (see __init__.py) and the README.
EXIT_OK = 0
EXIT_FAILED = 1  # an API error status, a bulk run with failures, anything else that failed
EXIT_USAGE = 2  # bad flags or input, missing credentials: nothing was sent
EXIT_AUTH = 3  # 401/403: credentials refused or not allowed
EXIT_NETWORK = 4  # no response: connection failed or timed out
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


class CliError(Exception):
    """A failure the command has already put into words, with its exit code.

    `details` are printed one per line under the ``error:`` line (e.g. every
    problem of a call flow).
    """

    def __init__(self, message: str, code: int = EXIT_FAILED, details: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.details = list(details)


_INTELEPEER_CREDENTIALS = (
    "INTELEPEER_TOKEN",
    "INTELEPEER_USERNAME",
    "INTELEPEER_PASSWORD",
    "INTELEPEER_SMARTCOMM_TOKEN",
)


@dataclass(repr=False)
class Settings:
    """The global options: how to reach the vendors and how to print."""

    json: bool = False
    timeout: float | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    smartcomm_token: str | None = None
    customer_id: str | None = None
    base_url: str | None = None
    reseller: str | None = None
    user: str | None = None
    yay_password: str | None = None
    act_for: str | None = None
    yay_base_url: str | None = None

    def __repr__(self) -> str:
        # Passwords and tokens are never shown, whatever prints this.
        return f"Settings(json={self.json}, timeout={self.timeout}, base_url={self.base_url!r})"

    def intelepeer_kwargs(self) -> dict[str, Any]:
        """Arguments for `AsyncIntelePeer`.

        With no credential flag the SDK reads ``INTELEPEER_*`` itself. With any,
        the flags are the credentials, and the missing half of a username and
        password pair comes from its variable (so the password can stay out of
        the command line): a stale ``INTELEPEER_TOKEN`` never overrides them.
        """
        kwargs: dict[str, Any] = {"customer_id": self.customer_id, "base_url": self.base_url}
        flags = (self.token, self.username, self.password, self.smartcomm_token)
        if all(v is None for v in flags):
            if not any(map(_env, _INTELEPEER_CREDENTIALS)):
                raise CliError(
                    "no IntelePeer credentials: use --token, or --username and --password "
                    "(or INTELEPEER_TOKEN, or INTELEPEER_USERNAME and INTELEPEER_PASSWORD)",
                    EXIT_USAGE,
                )
        else:
            username, password = self.username, self.password
            if username is not None and password is None:
                password = _env("INTELEPEER_PASSWORD")
            if password is not None and username is None:
                username = _env("INTELEPEER_USERNAME")
            if (username is None) != (password is None):
                raise CliError(
                    "--username and --password go together (either may come from "
                    "INTELEPEER_USERNAME / INTELEPEER_PASSWORD)",
                    EXIT_USAGE,
                )
            kwargs.update(
                token=self.token,
                username=username,
                password=password,
                smartcomm_token=self.smartcomm_token,
            )
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs

    def yay_kwargs(self) -> dict[str, Any]:
        """Arguments for `AsyncYay`; each credential left out comes from its ``YAY_*`` variable.

        The three are resolved here and passed together (`AsyncYay` takes them all
        from arguments or all from the environment), so ``--yay-password`` alone
        can override a stale ``YAY_PASSWORD``. With no credential flag the SDK
        reads the variables itself, ``YAY_ACT_FOR`` included.
        """
        given = (
            ("reseller", "YAY_RESELLER", self.reseller),
            ("user", "YAY_USER", self.user),
            ("yay-password", "YAY_PASSWORD", self.yay_password),
        )
        missing = [
            f"--{flag} (or {variable})"
            for flag, variable, value in given
            if value is None and _env(variable) is None
        ]
        if missing:
            raise CliError(f"Yay.com credentials missing: {', '.join(missing)}", EXIT_USAGE)
        if all(value is None for _, _, value in given):
            reseller = user = password = None
        else:
            reseller, user, password = (value or _env(variable) for _, variable, value in given)
        kwargs: dict[str, Any] = {
            "reseller": reseller,
            "user": user,
            "password": password,
            "act_for": self.act_for,
            "base_url": self.yay_base_url,
        }
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs

    def with_intelepeer(self, work: Callable[[AsyncIntelePeer], Awaitable[T]]) -> T:
        """Run `work` with a client built from these settings; close it after."""
        from intelepeer_async import AsyncIntelePeer

        async def go() -> T:
            async with AsyncIntelePeer(**self.intelepeer_kwargs()) as ip:
                return await work(ip)

        return run(go)

    def with_yay(self, work: Callable[[AsyncYay], Awaitable[T]]) -> T:
        """Run `work` with a Yay.com client built from these settings; close it after."""
        from intelepeer_async import AsyncYay

        async def go() -> T:
            async with AsyncYay(**self.yay_kwargs()) as yay:
                return await work(yay)

        return run(go)

    def emit(self, data: object, human: str | Iterable[str]) -> None:
        """Print one JSON document (``--json``) or the human-readable lines."""
        if self.json:
            click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
            return
        for line in [human] if isinstance(human, str) else human:
            click.echo(line)


pass_settings = click.make_pass_decorator(Settings)


def name_of(stream: IO[Any]) -> str:
    """How messages name an input: ``stdin``, or the file's path."""
    name = getattr(stream, "name", "<stdin>")
    return "stdin" if name in ("<stdin>", "-", 0) else str(name)


def read_utf8(stream: IO[str]) -> str:
    """All of `stream`, decoded here as UTF-8 (a leading BOM dropped).

    Decoding the bytes ourselves turns a file saved in another encoding into a
    usage error that names the line ("line 3 of agents.csv is not UTF-8")
    instead of a UnicodeDecodeError from deep inside a reader. Line endings are
    kept as they are (the csv module wants them so).
    """
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # already text, e.g. an io.StringIO
        return stream.read()
    raw = buffer.read()
    try:
        return str(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise CliError(
            f"line {line} of {name_of(stream)} is not UTF-8; save it as UTF-8", EXIT_USAGE
        ) from None


def table(headers: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    """Left-aligned columns for human output; None prints as '-'."""
    cells = [list(headers)] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 agent", "2 agents": the summary line under a listing."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def fields(data: dict[str, Any]) -> list[str]:
    """``name: value`` lines for the fields that have a value."""
    return [f"{name}: {value}" for name, value in data.items() if value not in (None, "", [], {})]


def run(go: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine function to completion (anyio, asyncio backend)."""
    import anyio

    return anyio.run(go)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).json = True


def json_flag(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` after the command too (``intelepeer sms status X --json``)."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print JSON for scripts (same as the global --json).",
    )(f)


# -- personal data and secrets --------------------------------------------------

_NUMBER = re.compile(r"\+?\d{7,15}")


def hide_numbers(text: str) -> str:
    """`text` with anything that looks like a phone number masked (for error lines)."""
    return _NUMBER.sub("[number]", text)


def hide_url_password(url: str | None) -> str | None:
    """A webhook URL with the password of its ``user:pass@`` part masked."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "[unparsable URL]"
    if password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


# -- errors -----------------------------------------------------------------------


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an SDK error: usage 2, auth 3, network 4, anything else 1."""
    from intelepeer_async.errors import (
        APIConnectionError,
        AuthenticationError,
        InvalidInputError,
        PermissionDeniedError,
    )

    if isinstance(exc, CliError):
        return exc.code
    if isinstance(exc, InvalidInputError):
        return EXIT_USAGE
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(exc, APIConnectionError):
        return EXIT_NETWORK
    return EXIT_FAILED


def describe(exc: BaseException) -> str:
    """One line saying what went wrong: no traceback, secret or phone number."""
    from intelepeer_async.errors import (
        APIConnectionError,
        APIStatusError,
        IntelePeerError,
        InvalidInputError,
        LoginError,
    )

    if isinstance(exc, CliError | InvalidInputError):
        return str(exc)
    if isinstance(exc, APIStatusError):
        line = f"HTTP {exc.status_code}: {hide_numbers(exc.message)}"
        if exc.request_id:
            line += f" (request id {exc.request_id})"
        # A 403 on an ordinary call (an international destination, a number on another
        # account) is a permission, not a credentials problem; a refused login is both.
        if exc.status_code == 401 or isinstance(exc, LoginError):
            line += "; check the credentials (see 'intelepeer --help')"
        elif exc.status_code == 403:
            line += "; not permitted for this account"
        return line
    if isinstance(exc, APIConnectionError):
        return f"no response: {exc}"
    if isinstance(exc, IntelePeerError):
        return hide_numbers(str(exc))
    # Not ours: its text may hold anything, so name only its type.
    return f"unexpected {type(exc).__name__} (a bug in intelepeer-async: please report it)"


def report(exc: BaseException) -> int:
    """Print `exc` as ``error: ...`` lines on stderr; return its exit code."""
    click.echo(f"error: {describe(exc)}", err=True)
    for line in exc.details if isinstance(exc, CliError) else ():
        click.echo(f"  - {line}", err=True)
    return exit_code_of(exc)


def single(exc: BaseException) -> BaseException:
    """The first leaf of an exception group (task groups wrap what they raise)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc
