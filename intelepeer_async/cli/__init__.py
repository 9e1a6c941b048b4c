"""The ``intelepeer`` command: IntelePeer and Yay.com from a shell or a script.

Thin over the public SDK: each command parses its flags, runs one coroutine
on `AsyncIntelePeer` / `AsyncYay` with ``anyio.run`` and prints the result.
Command groups live in their own modules and are imported only when invoked
(`COMMANDS` below), so ``intelepeer --help`` loads click and nothing heavier.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any

import click

from .._version import __version__
from ._common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
    Settings,
    report,
    single,
)

__all__ = ["COMMANDS", "cli", "main", "run_reporting"]

#: name -> ("module:attribute" of its click command, one line of help).
#: One line adds a command; nothing is imported until the command is used.
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": (
        "intelepeer_async.sandbox.cli:sandbox_command",
        "Run the local simulator of the IntelePeer and Yay.com APIs.",
    ),
    "receive": (
        "intelepeer_async.cli._receive:receive",
        "Serve an inbound-SMS receiver (MODULE:ATTRIBUTE) with uvicorn.",
    ),
    "inbox": (
        "intelepeer_async.cli._inbox:inbox",
        "The receiver's queued-mode inbox: dead letters (list, show, replay, purge), stats.",
    ),
    "flows": ("intelepeer_async.cli._flows:flows", "Trigger SmartFlows (one, or a CSV of rows)."),
    "sms": (
        "intelepeer_async.cli._sms:sms",
        "Send SMS, read delivery status, provision numbers, set webhooks.",
    ),
    "agents": ("intelepeer_async.cli._agents:agents", "Manage SmartCommunicator agents."),
    "callflows": (
        "intelepeer_async.cli._callflows:callflows",
        "Yay.com call flows: list, show (Mermaid/DOT), create, delete.",
    ),
}

EPILOG = """\b
Credentials come from the flags above or the environment:
  INTELEPEER_TOKEN, or INTELEPEER_USERNAME + INTELEPEER_PASSWORD,
  INTELEPEER_SMARTCOMM_TOKEN, INTELEPEER_CUSTOMER_ID, INTELEPEER_BASE_URL;
  YAY_RESELLER, YAY_USER, YAY_PASSWORD, YAY_ACT_FOR, YAY_BASE_URL.
Passwords are best left in the environment (flags show up in 'ps').

\b
Exit codes:
  0  success
  1  the API answered with an error, a bulk run had failures, or anything
     else failed
  2  usage: bad flags or input (e.g. a malformed number), missing
     credentials; nothing was sent
  3  authentication or permission refused (HTTP 401/403)
  4  network: no response (connection failed or timed out)
  130  interrupted (Ctrl-C)
A bulk run whose items all failed for the same reason exits with that
reason's code (e.g. 3 when every number got a 401).
"""


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use, from a name table."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *sorted(set(super().list_commands(ctx)) - set(self.lazy))]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        command = _load(cmd_name, self.lazy[cmd_name][0])
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The table's help lines, so listing the commands imports none of them.
        rows = [
            (
                name,
                self.lazy[name][1]
                if name in self.lazy
                else self.commands[name].get_short_help_str(),
            )
            for name in self.list_commands(ctx)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _load(name: str, target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise CliError(
                f"'intelepeer {name}' is not available in this installation "
                f"({module_name} is missing)",
                EXIT_USAGE,
            ) from None
        raise CliError(f"'intelepeer {name}' could not load: {exc}") from None
    command = getattr(module, attribute, None)
    if not isinstance(command, click.Command):
        raise CliError(f"'intelepeer {name}' is not available ({target} is not a command)")
    return command


class RootGroup(LazyGroup):
    """The top group: turns every failure into one ``error:`` line and an exit code."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = run_reporting(
            lambda: super(RootGroup, self).main(
                args, prog_name or "intelepeer", complete_var, standalone_mode=False, **extra
            )
        )
        if standalone_mode:
            sys.exit(code)
        return code


def run_reporting(invoke: Callable[[], object]) -> int:
    """Run a click command's ``main(..., standalone_mode=False)``; return the exit code.

    The one place that turns every failure into one ``error:`` line (never a
    traceback) and the documented exit code: the ``intelepeer`` command and
    ``python -m intelepeer_async.sandbox`` both run through it.
    """
    try:
        result = invoke()
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {_usage_line(exc)}", err=True)
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `intelepeer ... | head`: the reader left; nothing more to say.
        sys.stdout = _DevNull()
        return EXIT_FAILED
    except (Exception, BaseExceptionGroup) as exc:  # the one place that reports
        # Ctrl-C can arrive inside a task group's exception group, beside the
        # errors it caused in the group's other tasks: it is still an interruption.
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(KeyboardInterrupt) is not None:
            click.echo("error: interrupted", err=True)
            return EXIT_INTERRUPTED
        return report(single(exc))
    return result if isinstance(result, int) else 0


def _usage_line(exc: click.ClickException) -> str:
    line = exc.format_message().replace("\n", " ")
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        line += f" (see '{ctx.command_path} --help')"
    return line


class _DevNull:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass


@click.group(
    "intelepeer",
    cls=RootGroup,
    lazy=COMMANDS,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="intelepeer-async", message="%(prog)s %(version)s")
@click.option("--json", "json_output", is_flag=True, help="Print JSON for scripts.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Time budget of each API call, retries included [default: 30].",
)
@click.option("--token", metavar="TOKEN", help="A ready v4 token [env: INTELEPEER_TOKEN].")
@click.option("--username", metavar="NAME", help="IntelePeer login [env: INTELEPEER_USERNAME].")
@click.option("--password", metavar="PASSWORD", help="[env: INTELEPEER_PASSWORD]")
@click.option(
    "--smartcomm-token",
    metavar="JWT",
    help="A ready SmartCommunicator JWT [env: INTELEPEER_SMARTCOMM_TOKEN].",
)
@click.option("--customer-id", metavar="ID", help="[env: INTELEPEER_CUSTOMER_ID]")
@click.option(
    "--base-url",
    metavar="URL",
    help="Every IntelePeer service at one URL, e.g. the sandbox [env: INTELEPEER_BASE_URL].",
)
@click.option("--reseller", metavar="ID", help="Yay.com reseller [env: YAY_RESELLER].")
@click.option("--user", metavar="NAME", help="Yay.com user [env: YAY_USER].")
@click.option("--yay-password", metavar="PASSWORD", help="[env: YAY_PASSWORD]")
@click.option("--act-for", metavar="CUSTOMER", help="Yay.com sub-account [env: YAY_ACT_FOR].")
@click.option("--yay-base-url", metavar="URL", help="[env: YAY_BASE_URL]")
@click.pass_context
def cli(ctx: click.Context, /, json_output: bool, **options: Any) -> None:
    """IntelePeer (SMS, SmartFlows, SmartCommunicator) and Yay.com call flows.

    Human-readable output by default; --json prints one JSON document per command.
    """
    ctx.obj = Settings(json=json_output, **options)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    code: int = cli.main(argv, prog_name="intelepeer", standalone_mode=False)
    return code
