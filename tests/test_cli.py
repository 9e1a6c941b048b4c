"""The `intelepeer` command as a whole: help, lazy loading, credentials, errors, exit codes."""

from __future__ import annotations

import importlib
import json
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from intelepeer_async import __version__
from intelepeer_async.cli import COMMANDS, cli
from intelepeer_async.cli._common import Settings

from . import fake_vendor
from .cli_support import (
    SCRIPT,
    clean_env,
    invoke,
    one_error_line,
    script,
    webhook_vendor,
)
from .serving import uvicorn_in_thread

MDR = f"{fake_vendor.API}/_rest/v4/app/sms/mdr"
AUTH = f"{fake_vendor.AUTH}/_rest/v4/authenticate"
SEND = f"{fake_vendor.API}/_rest/v4/app/sms/send"
SEND_ARGS = ("sms", "send", "--from", "+13035550100", "--to", "+13035550111", "--text", "hi")


# -- help, version, lazy loading -------------------------------------------------


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.stdout
    for line in ("0  success", "2  usage", "3  authentication", "4  network", "130  interrupted"):
        assert line in result.stdout
    assert "INTELEPEER_PASSWORD" in result.stdout and "YAY_PASSWORD" in result.stdout


def modules_after_help(*args: str) -> set[str]:
    code = (
        "import contextlib, io, sys\n"
        "from intelepeer_async.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({list(args)!r}) == 0\n"
        "print('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize("args", [("--help",), ("sms", "--help"), ("callflows", "--help")])
def test_help_loads_neither_httpx_nor_pydantic(args: tuple[str, ...]) -> None:
    loaded = modules_after_help(*args)
    for heavy in ("httpx", "pydantic", "starlette", "anyio", "uvicorn"):
        assert heavy not in loaded, heavy
    assert "intelepeer_async.cli._agents" not in loaded  # only the group that was asked for


def test_version_from_the_installed_script() -> None:
    out = script("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"intelepeer-async {__version__}"


def test_main_returns_the_exit_code() -> None:
    from intelepeer_async.cli import main

    assert main(["--version"]) == 0
    assert main(["sms", "send", "--bogus"]) == 2


def test_no_command_shows_help_as_a_usage_error() -> None:
    result = invoke()
    assert result.exit_code == 2
    assert "Commands:" in result.stderr


def test_sandbox_is_registered_lazily() -> None:
    assert COMMANDS["sandbox"][0] == "intelepeer_async.sandbox.cli:sandbox_command"
    result = invoke("sandbox", "--help")
    try:
        importlib.import_module("intelepeer_async.sandbox.cli")
    except ModuleNotFoundError:
        assert result.exit_code == 2
        assert one_error_line(result) == (
            "error: 'intelepeer sandbox' is not available in this installation "
            "(intelepeer_async.sandbox.cli is missing)"
        )
    else:  # the simulator has landed on this branch
        assert result.exit_code == 0
        assert "Usage: intelepeer sandbox" in result.stdout


def test_a_command_whose_module_fails_to_import_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_cli_module.py").write_text("import no_such_dependency_4711\n")
    (tmp_path / "not_a_command.py").write_text("thing = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.lazy, "broken", ("broken_cli_module:cmd", "Broken."))
    monkeypatch.setitem(cli.lazy, "odd", ("not_a_command:thing", "Odd."))
    broken = invoke("broken")
    assert broken.exit_code == 1
    assert "could not load: No module named 'no_such_dependency_4711'" in one_error_line(broken)
    odd = invoke("odd")
    assert odd.exit_code == 1
    assert "not_a_command:thing is not a command" in one_error_line(odd)


def test_unknown_command_is_a_usage_error() -> None:
    result = invoke("nope")
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: No such command 'nope'")


# -- usage errors -------------------------------------------------------------------


def test_missing_option_is_one_line_with_a_hint() -> None:
    result = invoke("sms", "send", "--to", "+13035550111")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "error: Missing option '--from'. (see 'intelepeer sms send --help')"
    )


def test_timeout_must_be_positive() -> None:
    result = invoke("--timeout", "0", "sms", "status", "R1")
    assert result.exit_code == 2
    assert "--timeout" in one_error_line(result)


def test_missing_credentials_say_which_flags_and_variables(vendor: respx.MockRouter) -> None:
    env = {name: "" for name in fake_vendor.ENV}
    result = invoke("sms", "status", "R1", env=env)
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "--token" in line and "INTELEPEER_USERNAME" in line
    yay = invoke("callflows", "list", env=env)
    assert yay.exit_code == 2
    assert "--reseller (or YAY_RESELLER)" in one_error_line(yay)
    assert not vendor.calls


def test_malformed_number_is_usage_and_not_echoed(vendor: respx.MockRouter) -> None:
    result = invoke("sms", "send", "--from", "+13035550100", "--to", "555-0199", "--text", "x")
    assert result.exit_code == 2
    line = one_error_line(result)
    assert "to must be an E.164 number" in line and "555-0199" not in line
    assert not vendor.calls


# -- API errors and exit codes ------------------------------------------------------


CREDENTIALS = "; check the credentials (see 'intelepeer --help')"


@pytest.mark.parametrize(
    ("status", "code", "hint"),
    [
        (400, 1, ""),
        (401, 3, CREDENTIALS),
        (403, 3, "; not permitted for this account"),  # authenticated, but not allowed
        (404, 1, ""),
        (409, 1, ""),
        (500, 1, ""),
    ],
)
def test_status_errors_map_to_exit_codes(
    vendor: respx.MockRouter, no_sleep: list[float], status: int, code: int, hint: str
) -> None:
    vendor.get(MDR).respond(status, json={"error": "nope from the vendor"})
    result = invoke("sms", "status", "R1")
    assert result.exit_code == code
    assert one_error_line(result) == f"error: HTTP {status}: nope from the vendor{hint}"


def test_a_login_refused_with_403_is_about_the_credentials(vendor: respx.MockRouter) -> None:
    vendor.post(AUTH).respond(403, json={"code": 403, "error": "Account locked"})
    result = invoke("--username", "me", "--password", "pw", "sms", "status", "R1")
    assert result.exit_code == 3
    assert one_error_line(result).endswith(f"Account locked{CREDENTIALS}")


def test_login_refused_is_exit_3_without_the_password(vendor: respx.MockRouter) -> None:
    vendor.post(AUTH).respond(401, json={"code": 401, "error": "Unauthorized"})
    result = invoke("--username", "me", "--password", "hunter2-secret", *SEND_ARGS)
    assert result.exit_code == 3
    assert "HTTP 401: Unauthorized" in one_error_line(result)
    assert "hunter2-secret" not in result.output
    assert [c.request.url.path for c in vendor.calls] == ["/_rest/v4/authenticate"]


def test_no_response_is_exit_4(vendor: respx.MockRouter, no_sleep: list[float]) -> None:
    vendor.get(MDR).mock(side_effect=httpx.ConnectError("refused"))
    result = invoke("sms", "status", "R1")
    assert result.exit_code == 4
    assert "never reached the server" in one_error_line(result)
    assert len(no_sleep) == 2  # a read: retried twice first


def test_timeout_after_a_send_says_it_may_have_been_sent(vendor: respx.MockRouter) -> None:
    route = vendor.post(SEND).mock(side_effect=httpx.ReadTimeout("slow"))
    result = invoke(*SEND_ARGS)
    assert result.exit_code == 4
    assert "may have been processed" in one_error_line(result)
    assert route.call_count == 1  # a paid send is never resent


def test_vendor_text_with_a_phone_number_is_masked(vendor: respx.MockRouter) -> None:
    vendor.get(MDR).respond(404, json={"message": "no record for +13035550111"})
    result = invoke("sms", "status", "R1")
    assert one_error_line(result) == "error: HTTP 404: no record for [number]"


SEND_STDIN = ("sms", "send", "--from", "+13035550100", "--to", "+17205551212", "--text", "-")
SET_WEBHOOK = ("sms", "webhook", "set", "https://rx.example/sms")


@pytest.mark.parametrize(
    ("args", "stdin", "where"),
    [
        (("flows", "trigger", "f", "--csv", "{file}"), None, "line 3 of {file}"),
        (("flows", "trigger", "f", "--csv", "-"), b"ANI,DNIS\n\n\xff", "line 3 of stdin"),
        ((*SET_WEBHOOK, "--file", "{file}"), None, "line 3 of {file}"),
        (SET_WEBHOOK, b"+13035550100\n\xe9\n", "line 2 of stdin"),
        (SEND_STDIN, b"caf\xe9", "line 1 of stdin"),
        (("callflows", "create", "{file}"), None, "line 3 of {file}"),
    ],
)
def test_input_that_is_not_utf8_is_a_usage_error_naming_the_line(
    vendor: respx.MockRouter, tmp_path: Path, args: tuple[str, ...], stdin: bytes | None, where: str
) -> None:
    latin1 = tmp_path / "latin1.txt"  # a spreadsheet's export in Windows-1252, say
    latin1.write_bytes("ANI,DNIS\n+17205551212,+13035550100\nCaf\xe9,\n".encode("latin-1"))
    result = invoke(*(a.format(file=latin1) for a in args), input=stdin)
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert line == f"error: {where.format(file=latin1)} is not UTF-8; save it as UTF-8"
    assert not vendor.calls  # nothing was sent, not even a login


def test_unexpected_exceptions_show_only_their_type(
    vendor: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from intelepeer_async.resources.sms import Sms

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("token=abc +13035550111")

    monkeypatch.setattr(Sms, "status", broken)
    result = invoke("sms", "status", "R1")
    assert result.exit_code == 1
    line = one_error_line(result)
    assert "unexpected RuntimeError" in line
    assert "abc" not in line and "+1303" not in line


def test_ctrl_c_exits_130(vendor: respx.MockRouter, monkeypatch: pytest.MonkeyPatch) -> None:
    from intelepeer_async.resources.sms import Sms

    async def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Sms, "status", interrupted)
    result = invoke("sms", "status", "R1")
    assert result.exit_code == 130
    assert "error: interrupted" in result.stderr


# -- credentials and global options -------------------------------------------------


def test_flags_override_a_stale_token_in_the_environment(vendor: respx.MockRouter) -> None:
    env = {"INTELEPEER_TOKEN": "stale", "INTELEPEER_PASSWORD": "from-env"}
    result = invoke("--username", "flag-user", "sms", "status", "R1", env=env)
    assert result.exit_code == 0, result.output
    login = json.loads(vendor.calls[0].request.content)
    assert login == {"username": "flag-user", "password": "from-env"}
    assert vendor.calls[1].request.headers["Authorization"] == "Bearer v4-token"


def test_username_without_any_password_is_a_usage_error(vendor: respx.MockRouter) -> None:
    result = invoke("--username", "me", "sms", "status", "R1", env={"INTELEPEER_PASSWORD": ""})
    assert result.exit_code == 2
    assert "--username and --password go together" in one_error_line(result)
    assert not vendor.calls


def test_token_flag_and_base_url_flag(mock: respx.MockRouter) -> None:
    route = mock.get("http://sim.test/_rest/v4/app/sms/mdr").respond(
        200, json={"code": 200, "RCC_en": "Queued", "RCC": 0}
    )
    result = invoke("--token", "tok-1", "--base-url", "http://sim.test", "sms", "status", "R1")
    assert result.exit_code == 0
    assert route.calls[0].request.headers["Authorization"] == "Bearer tok-1"
    assert result.stdout == "Queued (queued)\n"


def test_timeout_flag_bounds_each_call(vendor: respx.MockRouter) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(10)
        return httpx.Response(200, json={})

    vendor.get(MDR).mock(side_effect=slow)
    started = time.monotonic()
    result = invoke("--timeout", "0.5", "sms", "status", "R1")
    assert result.exit_code == 4
    assert "timed out (budget 0.5s)" in one_error_line(result)
    assert time.monotonic() - started < 5


def test_settings_repr_hides_secrets() -> None:
    text = repr(Settings(token="tok-secret", password="pw-secret", yay_password="yay-secret"))
    assert "secret" not in text


def test_json_before_or_after_the_command_is_the_same(vendor: respx.MockRouter) -> None:
    before = invoke("--json", "sms", "status", "R1")
    after = invoke("sms", "status", "R1", "--json")
    assert before.exit_code == after.exit_code == 0
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert json.loads(before.stdout)["state"] == "delivered"


# -- the real console script ----------------------------------------------------------


def test_script_usage_error_exits_2_without_traceback() -> None:
    out = script("sms", "send", "--from")
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    no_creds = script(*SEND_ARGS)
    assert no_creds.returncode == 2
    assert no_creds.stderr.startswith("error: no IntelePeer credentials")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_script_network_error_exits_4() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    out = script("--token", "t", "--base-url", base, "--timeout", "10", "sms", "status", "R1")
    assert out.returncode == 4
    assert out.stderr.startswith("error: no response:") and "Traceback" not in out.stderr


def test_script_login_that_gets_no_answer_exits_4() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    out = script(
        *("--username", "me", "--password", "hunter2-secret", "--base-url", base),
        *("--timeout", "10", "sms", "status", "R1"),
    )
    assert out.returncode == 4
    assert out.stderr.startswith("error: no response:") and "Traceback" not in out.stderr
    assert "the login" in out.stderr and "hunter2-secret" not in out.stderr


def test_script_reads_numbers_piped_on_stdin() -> None:
    received: list[dict[str, object]] = []
    with uvicorn_in_thread(webhook_vendor(received)) as base:
        out = script(
            "--token",
            "t",
            "--base-url",
            base,
            "--json",
            "sms",
            "webhook",
            "set",
            "https://rx.example.com/sms",
            input="+13035550100\n\n# a comment\n+13035550101\n",
        )
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert [r["number"] for r in results] == ["+13035550100", "+13035550101"]
    assert all(r["ok"] for r in results)
    assert received == [
        {"endpoints": ["+13035550100", "+13035550101"], "webhook": "https://rx.example.com/sms"}
    ]


def read_all(fd: int, deadline: float) -> str:
    chunks: list[bytes] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode()


def bulk_webhook_args(base: str, count: int) -> list[str]:
    numbers = [f"+1303555{n:04d}" for n in range(count)]
    return ["--token", "t", "--base-url", base, "sms", "webhook", "set", "https://rx/s", *numbers]


def test_progress_bar_only_on_a_terminal() -> None:
    received: list[dict[str, object]] = []
    with uvicorn_in_thread(webhook_vendor(received)) as base:
        args = bulk_webhook_args(base, 250)
        main, child = pty.openpty()
        with subprocess.Popen(
            [SCRIPT, *args], stdout=child, stderr=subprocess.PIPE, env=clean_env()
        ) as proc:
            os.close(child)
            on_terminal = read_all(main, time.monotonic() + 60)
            assert proc.wait(timeout=60) == 0
        os.close(main)
        piped = script(*args)
    assert "setting webhooks" in on_terminal and "100%" in on_terminal
    assert "250 of 250 numbers now post to https://rx/s" in on_terminal
    assert piped.returncode == 0
    assert "setting webhooks" not in piped.stdout and "%" not in piped.stdout
    assert len(received) == 6  # 3 chunks of at most 100, twice


def test_numbers_expected_on_a_terminal_fail_fast_instead_of_waiting() -> None:
    main, child = pty.openpty()
    try:
        out = subprocess.run(
            [SCRIPT, "--token", "t", "sms", "webhook", "set", "https://rx/s"],
            stdin=child,
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=30,
            check=False,
        )
    finally:
        os.close(child)
        os.close(main)
    assert out.returncode == 2
    assert out.stderr == "error: no numbers: give them as arguments, with --file, or on stdin\n"


@pytest.mark.parametrize(
    "raised",
    [
        KeyboardInterrupt(),
        BaseExceptionGroup("task group", [KeyboardInterrupt()]),
        # Ctrl-C as the second leaf, beside what it caused in another task.
        BaseExceptionGroup("task group", [ConnectionResetError("gone"), KeyboardInterrupt()]),
    ],
)
def test_ctrl_c_inside_a_task_group_is_an_interruption(
    raised: BaseException, capsys: pytest.CaptureFixture[str]
) -> None:
    from intelepeer_async.cli import run_reporting

    def interrupted() -> None:
        raise raised

    assert run_reporting(interrupted) == 130
    assert capsys.readouterr().err == "error: interrupted\n"
