"""Helpers for the `intelepeer` command's tests: in-process runs, the real script, loopback.

In-process runs (`invoke`) go through the same root group as the console
script, so exit codes and error lines are the real ones; respx answers their
HTTP. Subprocess runs (`script`) use the installed console script and can only
reach loopback servers (`tests/serving.py`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from intelepeer_async.cli import cli

from . import fake_vendor

SCRIPT = str(Path(sys.executable).parent / "intelepeer")
ROOT = Path(__file__).parent.parent


def invoke(
    *args: str, input: str | bytes | None = None, env: Mapping[str, str] | None = None
) -> Result:
    """Run ``intelepeer ARGS`` in this process; exceptions the CLI lets out fail the test."""
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def one_error_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    """The single ``error:`` line a failed command printed (and nothing else on stderr)."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any vendor credential, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTELEPEER_", "YAY_", "SMS_"))}
    return {**env, **extra}


def script(
    *args: str,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run the installed console script from the project root."""
    return subprocess.run(
        [SCRIPT, *args],
        input=input,
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else clean_env(),
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


def webhook_vendor(received: list[dict[str, Any]], statuses: Sequence[int] = ()) -> Starlette:
    """IntelePeer's webhook-set endpoint as the seed documents it, recording each body.

    `statuses`, when given, are the whole-request answers for the first requests
    (e.g. 401), after which the seed's 201/207 answers resume.
    """
    answers = list(statuses)

    async def set_webhook(request: Request) -> JSONResponse:
        body = await request.json()
        received.append(body)
        if answers:
            status = answers.pop(0)
            return JSONResponse({"code": status, "error": "refused"}, status_code=status)
        status, answer = fake_vendor.webhook_answer(body)
        return JSONResponse(answer, status_code=status)

    return Starlette(routes=[Route("/_rest/v4/my/did/sms/webhook", set_webhook, methods=["POST"])])
