"""The `intelepeer` command against the simulator: every command group, end to end.

The simulator (the `intelepeer_sandbox` fixture) is served on loopback, so the
installed console script reaches it from a subprocess as it would the vendors:
used where stdin, exit codes or signals matter; the rest run in-process
through the same root group (`invoke`), which is faster.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from intelepeer_async import CallFlowBuilder
from intelepeer_async.sandbox import SandboxConfig, ThreadedSandbox
from receiver import InboundSms, SharedCode, SmsReceiver

from .cli_support import ROOT, SCRIPT, clean_env, invoke, one_error_line, script
from .serving import uvicorn_in_thread

SENDER = "+17205551212"


def env_for(url: str, **extra: str) -> dict[str, str]:
    """The demo account's credentials, every service at `url`."""
    return clean_env(
        INTELEPEER_USERNAME="demo",
        INTELEPEER_PASSWORD="demo",
        INTELEPEER_CUSTOMER_ID="12345678",
        INTELEPEER_BASE_URL=url,
        YAY_RESELLER="demo",
        YAY_USER="demo",
        YAY_PASSWORD="demo",
        YAY_BASE_URL=url,
        **extra,
    )


@pytest.fixture
def env(intelepeer_sandbox: ThreadedSandbox) -> dict[str, str]:
    return env_for(intelepeer_sandbox.url)


# -- intelepeer sandbox ----------------------------------------------------------------------


def test_sandbox_prints_its_url_first_and_exits_0_on_ctrl_c() -> None:
    with subprocess.Popen(
        [SCRIPT, "sandbox", "--port", "0", "--clock-rate", "0"],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            watchdog = threading.Timer(30, proc.kill)  # a hung start fails, never blocks
            watchdog.start()
            url = proc.stdout.readline().strip()
            watchdog.cancel()
            assert url.startswith("http://127.0.0.1:"), url
            # The URL is usable at once: the command works against it.
            sent = script("sms", "send", "--from", "+13035550100", "--to", SENDER,
                          "--text", "hi", env=env_for(url))  # fmt: skip
            assert sent.returncode == 0, sent.stderr
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    port = int(url.rsplit(":", 1)[1])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_send_inbound_to_a_served_receiver(intelepeer_sandbox: ThreadedSandbox) -> None:
    sb, number = intelepeer_sandbox, "+13035550103"
    got: list[str] = []
    rx = SmsReceiver(verifier=SharedCode("demo-shared-code"))

    @rx.on_message()
    async def record(msg: InboundSms) -> None:
        got.append(msg.message)

    send = ["sandbox", "send-inbound", "--from", SENDER, "--to", number, "--url", sb.url]
    with uvicorn_in_thread(rx.app) as rx_url:
        unset = script(*send, "--message", "early")
        assert unset.returncode == 1
        assert one_error_line(unset) == (
            "error: to has no webhook: set one first (sms.webhooks.set)"
        )
        hook = invoke("sms", "webhook", "set", f"{rx_url}/sms", number, env=env_for(sb.url))
        assert hook.exit_code == 0, hook.stderr
        done = script(*send, "--message", "hello")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"refid \w{32}: delivery 1 delivered \(attempt 1: 200\)\n", done.stdout)
    assert got == ["hello"]


# -- flows ----------------------------------------------------------------------------------------


def test_flows_trigger_one_and_a_csv_from_stdin(
    intelepeer_sandbox: ThreadedSandbox, env: dict[str, str]
) -> None:
    one = invoke(
        "flows", "trigger", "demo-flow", "--ani", SENDER, "--dnis", "+13035550100",
        "--var", "OrderNo=A-1", env=env,
    )  # fmt: skip
    assert (one.exit_code, one.stdout) == (0, "flow accepted (HTTP 202)\n")
    rows = "ANI,OrderNo\n+17205551213,A-2\n+17205551214,A-3\n"
    many = script(
        "--json", "flows", "trigger", "demo-flow", "--csv", "-", "--dnis", "+13035550100",
        input=rows, env=env,
    )  # fmt: skip
    assert many.returncode == 0, many.stderr
    assert [(r["row"], r["ok"], r["status"]) for r in json.loads(many.stdout)] == [
        (2, True, 202),
        (3, True, 202),
    ]
    triggers = intelepeer_sandbox.state()["triggers"]
    sent = sorted((t["ANI"], t["variables"].get("OrderNo")) for t in triggers)
    assert sent == [(SENDER, "A-1"), ("+17205551213", "A-2"), ("+17205551214", "A-3")]
    unknown = invoke(
        "flows", "trigger", "no-such-flow", "--ani", SENDER, "--dnis", "+13035550100", env=env
    )
    assert unknown.exit_code == 1
    assert one_error_line(unknown) == "error: HTTP 404: Not Found"


# -- sms ------------------------------------------------------------------------------------------


def test_sms_send_status_and_provision(
    intelepeer_sandbox: ThreadedSandbox, env: dict[str, str]
) -> None:
    sent = invoke(
        "sms", "send", "--from", "+13035550100", "--to", SENDER, "--text", "hi", "--dlr", env=env
    )
    assert sent.exit_code == 0, sent.stderr
    refid = sent.stdout.split("refid ")[1].strip()
    queued = invoke("--json", "sms", "status", refid, env=env)
    assert json.loads(queued.stdout)["rcc_en"] == "Queued"
    intelepeer_sandbox.advance(5)
    delivered = invoke("--json", "sms", "status", refid, "--post", env=env)
    assert json.loads(delivered.stdout)["state"] == "delivered"

    first = invoke("sms", "provision", "+13035550110", env=env)
    assert (first.exit_code, first.stdout) == (0, "provisioning requested\n")
    again = invoke("sms", "provision", "+13035550110", env=env)
    assert again.exit_code == 1
    assert "409" in one_error_line(again)


def test_sms_status_of_an_unknown_refid_and_a_wrong_password(env: dict[str, str]) -> None:
    unknown = invoke("sms", "status", "0" * 32, env=env)
    assert unknown.exit_code == 1 and "HTTP 404" in one_error_line(unknown)
    refused = invoke("--password", "wrong", "sms", "status", "0" * 32, env=env)
    assert refused.exit_code == 3
    assert one_error_line(refused).startswith("error: HTTP 401")
    assert "wrong" not in refused.output


# -- sms webhook: many numbers from stdin -----------------------------------------------

MANY = SandboxConfig(
    clock_rate=0,
    sms_numbers=[f"+1303555{n:04d}" for n in range(100, 350)],
    other_numbers=["+13035559999"],
)


@pytest.mark.parametrize("intelepeer_sandbox_config", [MANY])
def test_webhook_set_for_many_numbers_piped_on_stdin(
    intelepeer_sandbox: ThreadedSandbox, env: dict[str, str]
) -> None:
    numbers = [f"+1303555{n:04d}" for n in range(100, 350)]
    piped = "# every number we own\n" + "\n".join([*numbers, "", "+13035559999"]) + "\n"
    url = "http://intelepeer:s3cret-pass@127.0.0.1:9/sms"
    done = script("--json", "sms", "webhook", "set", url, input=piped, env=env)
    assert done.returncode == 1  # one number is not SMS-enabled
    results = json.loads(done.stdout)
    assert len(results) == 251
    assert all(r["ok"] and r["status"] == 201 for r in results[:250])
    assert (results[-1]["number"], results[-1]["ok"], results[-1]["status"]) == (
        "+13035559999",
        False,
        400,
    )
    assert "s3cret-pass" not in done.stdout + done.stderr
    assert one_error_line(done) == "error: 1 of 251 numbers failed"
    hooks = {n["number"]: n["webhook"] for n in intelepeer_sandbox.state()["numbers"]}
    assert all(hooks[n] == "http://intelepeer:********@127.0.0.1:9/sms" for n in numbers)
    assert len(intelepeer_sandbox.requests("POST", "/_rest/v4/my/did/sms/webhook")) == 3

    shown = invoke("sms", "webhook", "get", "+13035550100", env=env)
    assert shown.stdout == "+13035550100  http://intelepeer:***@127.0.0.1:9/sms  provisioned\n"


# -- agents ---------------------------------------------------------------------------------


def test_agents_onboard_list_get_update_offboard(env: dict[str, str]) -> None:
    onboard = invoke(
        "agents", "onboard", "--user-object-id", "u-1", "--tenant-id", "demo-tenant",
        "--phone-number", "+13035550102", "--upn", "ann@example.com", env=env,
    )  # fmt: skip
    assert (onboard.exit_code, onboard.stdout) == (0, "onboarded: Onboarded Successfully\n")
    clash = invoke(
        "agents", "onboard", "--user-object-id", "u-2", "--tenant-id", "demo-tenant",
        "--phone-number", "+13035550102", env=env,
    )  # fmt: skip
    assert clash.exit_code == 1
    assert one_error_line(clash) == (
        "error: HTTP 400: TN is already registered with a different Azure Object ID"
    )
    got = invoke("--json", "agents", "get", "+13035550102", "--key-id", "phone_number", env=env)
    assert json.loads(got.stdout)["upn"] == "ann@example.com"
    updated = invoke("--json", "agents", "update", "u-1", "--upn", "ann.lee@example.com", env=env)
    assert json.loads(updated.stdout)["upn"] == "ann.lee@example.com"
    assert invoke("agents", "offboard", "u-1", env=env).stdout == "offboarded (ok)\n"
    listed = json.loads(invoke("--json", "agents", "list", env=env).stdout)
    assert [(a["user_object_id"], a["status"]) for a in listed] == [("u-1", "offboarded")]
    gone = invoke("agents", "offboard", "u-1", env=env)
    assert gone.exit_code == 1
    assert "Azure Object ID is not registered" in one_error_line(gone)


# -- callflows ------------------------------------------------------------------------------


def test_callflows_create_list_show_delete(
    intelepeer_sandbox: ThreadedSandbox, env: dict[str, str], tmp_path: Path
) -> None:
    flow = (
        CallFlowBuilder("Support", extension=500)
        .start("menu")
        .ivr("menu", {"1": "vm"}, invalid="menu", timeout="vm")
        .voicemail("vm", mailboxes=["5d1e4c52-8a7b-4c8e-9f0a-3b2d1c0e9f8a"])
        .build(keys="names")
    )
    (tmp_path / "flow.json").write_text(flow.model_dump_json(by_alias=True, exclude_none=True))
    created = invoke("--json", "callflows", "create", str(tmp_path / "flow.json"), env=env)
    assert created.exit_code == 0, created.stderr
    uuid = json.loads(created.stdout)["uuid"]
    listed = invoke("callflows", "list", env=env).stdout.splitlines()
    assert listed[1].split()[:2] == [uuid, "500"] and listed[-1] == "1 call flow"
    mermaid = invoke("callflows", "show", uuid, "--mermaid", env=env)
    assert mermaid.stdout.startswith("flowchart TD\n")
    assert '["pressextension<br/>menu"]' in mermaid.stdout
    taken = invoke("callflows", "create", str(tmp_path / "flow.json"), env=env)
    assert taken.exit_code == 1 and "HTTP 400" in one_error_line(taken)  # extension in use
    assert invoke("callflows", "delete", uuid, env=env).exit_code == 0
    assert intelepeer_sandbox.state()["yay"]["callflows"] == {"(reseller)": []}
    missing = invoke("callflows", "show", uuid, env=env)
    assert missing.exit_code == 1 and "HTTP 404" in one_error_line(missing)


def test_a_yay_password_flag_overrides_only_the_password(env: dict[str, str]) -> None:
    # YAY_RESELLER and YAY_USER still come from the environment.
    refused = invoke("--yay-password", "wrong", "callflows", "list", env=env)
    assert refused.exit_code == 3
    assert "wrong" not in refused.output
    stale = {**env, "YAY_PASSWORD": "stale"}
    assert invoke("--yay-password", "demo", "callflows", "list", env=stale).exit_code == 0
