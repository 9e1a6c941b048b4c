"""The scripts in examples/, run against the simulator over loopback (the demo: test_demo.py).

Each example reads its credentials and base URL from the environment, as it
would against the real vendors; `env` points them at the `intelepeer_sandbox`
fixture (the package's own pytest plugin). Tests that need another account
parametrize `intelepeer_sandbox_config`.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest

from intelepeer_async import AsyncIntelePeer
from intelepeer_async.sandbox import SandboxConfig, ThreadedSandbox

from .helpers import FIXTURES
from .serving import uvicorn_in_thread

EXAMPLES = Path(__file__).parent.parent / "examples"
SENDER = "+17205551212"
SIP_USER, MAILBOX = "92b0aca6-12aa-480c-a7b7-a31df403418c", "5d1e4c52-8a7b-4c8e-9f0a-3b2d1c0e9f8a"


def load(name: str) -> ModuleType:
    """A fresh copy of examples/NAME.py (its module-level state new each time)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as `python examples/NAME.py` would (dataclasses need it)
    spec.loader.exec_module(module)
    return module


def numbers(first: int, count: int) -> list[str]:
    return [f"+1303555{first + i:04d}" for i in range(count)]


@pytest.fixture
def env(intelepeer_sandbox: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch) -> ThreadedSandbox:
    """The simulator, with INTELEPEER_* and YAY_* naming its demo account."""
    for name in ("INTELEPEER_TOKEN", "INTELEPEER_SMARTCOMM_TOKEN", "YAY_ACT_FOR"):
        monkeypatch.delenv(name, raising=False)
    url = intelepeer_sandbox.url
    for name, value in {
        "INTELEPEER_USERNAME": "demo",
        "INTELEPEER_PASSWORD": "demo",
        "INTELEPEER_CUSTOMER_ID": "12345678",
        "INTELEPEER_BASE_URL": url,
        "YAY_RESELLER": "demo",
        "YAY_USER": "demo",
        "YAY_PASSWORD": "demo",
        "YAY_BASE_URL": url,
    }.items():
        monkeypatch.setenv(name, value)
    return intelepeer_sandbox


def writes(sb: ThreadedSandbox) -> list[dict[str, Any]]:
    """Every POST, PATCH, PUT and DELETE the simulator received, logins left out."""
    return [
        r for r in sb.requests() if r["method"] != "GET" and not r["path"].endswith("authenticate")
    ]


# -- bulk_webhooks.py -------------------------------------------------------------------

MANY = SandboxConfig(clock_rate=0, sms_numbers=numbers(100, 150), other_numbers=numbers(300, 5))


@pytest.mark.parametrize("intelepeer_sandbox_config", [MANY])
def test_bulk_webhooks_sets_many_numbers_and_names_each_failure(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9/sms"
    given = [*numbers(100, 150), "+13035550300", "+19995550100"]  # not SMS-enabled; not ours
    assert load("bulk_webhooks").main([url, *given]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "150 of 152 numbers now post to the receiver"
    failures = dict(line.split(": ", 1) for line in out[:-1])
    assert failures.keys() == {"+13035550300", "+19995550100"}
    assert failures["+13035550300"].startswith("400 ")
    assert failures["+19995550100"].startswith("404 ")
    hooks = {n["number"]: n["webhook"] for n in env.state()["numbers"]}
    assert all(hooks[n] == url for n in numbers(100, 150))
    assert len(env.requests("POST", "/_rest/v4/my/did/sms/webhook")) == 2  # chunks of 100


def test_bulk_webhooks_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("bulk_webhooks").main([]) == 2


# -- trigger_from_csv.py -------------------------------------------------------------------

CSV = "ANI,OrderNo,FirstName\n+17205551212,A-1001,Ann\n+17205551213,A-1002,Bob\n+17205551214,,Cy\n"


def test_trigger_from_csv_sends_one_trigger_per_row(
    env: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rows.csv").write_text(CSV)
    code = load("trigger_from_csv").main(
        ["demo-flow", str(tmp_path / "rows.csv"), "--dnis", "+13035550100"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert sorted(line for line in out.splitlines() if line.startswith("line")) == [
        "line 2: accepted",
        "line 3: accepted",
        "line 4: accepted",
    ]
    bodies = sorted(
        (r["body"] for r in env.requests("POST", "/_rest/v4/sfgen/apitriggers")),
        key=lambda b: b["ANI"],
    )
    assert bodies[0] == {
        "flowId": "demo-flow",
        "ANI": "+17205551212",
        "DNIS": "+13035550100",
        "OrderNo": "A-1001",
        "FirstName": "Ann",
    }
    assert "OrderNo" not in bodies[2]  # an empty cell is no variable


def test_trigger_from_csv_checks_every_row_before_sending(
    env: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "rows.csv").write_text(CSV + "7205551215,A-1004,Di\n")
    assert load("trigger_from_csv").main(["demo-flow", str(tmp_path / "rows.csv")]) == 2
    err = capsys.readouterr().err
    assert "line 2: DNIS is missing or not E.164" in err  # no --dnis
    assert "line 5: ANI is missing or not E.164" in err
    assert env.requests() == []


def test_trigger_from_csv_never_resends_a_row_that_may_have_run(
    env: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = "/_rest/v4/sfgen/apitriggers"
    env.add_fault(kind="drop_after", method="POST", path=path, times=1)
    env.add_fault(kind="error", status=404, method="POST", path=path, times=1)
    (tmp_path / "rows.csv").write_text(CSV)
    module = load("trigger_from_csv")
    assert module.main(["demo-flow", str(tmp_path / "rows.csv"), "--dnis", "+13035550100"]) == 1
    out = capsys.readouterr().out
    assert "may have run: check before retrying" in out
    assert "refused: HTTP 404" in out
    assert "1 of 3 rows accepted" in out
    assert len(env.requests("POST", path)) == 3  # one request per row: nothing resent


# -- send_and_follow.py -------------------------------------------------------------------

# Sent after 0.2 s and DLR:Delivered after 0.6 s of real time: the first read, 20 ms
# after the send, has ample margin to see Queued even on a loaded machine.
FAST = SandboxConfig(clock_rate=5, undeliverable_numbers=["+17205550000"])


@pytest.mark.parametrize("intelepeer_sandbox_config", [FAST])
def test_send_and_follow_until_delivered(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--from", "+13035550100", "--interval", "0.02", "--deadline", "20"]
    assert load("send_and_follow").main([*args, "--to", SENDER, "Your order is ready"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("sent ") and len(out[0]) == len("sent ") + 32
    assert out[1:] == ["  Queued", "  Sent", "  DLR:Delivered"]
    assert load("send_and_follow").main([*args, "--to", "+17205550000", "hi"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "  DLR:Undeliverable"
    assert len(env.requests("POST", "/_rest/v4/app/sms/send")) == 2


def test_send_and_follow_stops_at_its_deadline_and_never_resends(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--from", "+13035550100", "--to", SENDER, "hi", "--interval", "0.05"]
    assert load("send_and_follow").main([*args, "--deadline", "0.3"]) == 1  # time stands still
    assert capsys.readouterr().out.splitlines()[-1] == "  still Queued after 0.3 s"
    env.add_fault(kind="drop_after", method="POST", path="/_rest/v4/app/sms/send")
    assert load("send_and_follow").main(args) == 1
    captured = capsys.readouterr()
    assert "may have been sent: not sending it again" in captured.out
    assert captured.err.startswith("error: ")
    assert len(env.requests("POST", "/_rest/v4/app/sms/send")) == 2


# -- agent_sync.py ----------------------------------------------------------------------------

ANN, BOB, CY = (
    "aaaaaaaa-0000-4000-8000-000000000001",
    "bbbbbbbb-0000-4000-8000-000000000002",
    ("cccccccc-0000-4000-8000-000000000003"),
)


def onboard(*agents: tuple[str, str, str]) -> None:
    async def go() -> None:
        async with AsyncIntelePeer() as ip:
            for user_object_id, phone, upn in agents:
                await ip.agents.onboard(
                    user_object_id=user_object_id,
                    tenant_id="demo-tenant",
                    phone_number=phone,
                    upn=upn,
                )

    anyio.run(go)


def test_agent_sync_onboards_updates_and_offboards_then_is_idempotent(
    env: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onboard((ANN, "+13035550100", "ann@example.com"), (BOB, "+13035550101", "bob@example.com"))
    wanted = tmp_path / "agents.csv"
    wanted.write_text(
        "user_object_id,tenant_id,phone_number,upn\n"
        f"{ANN},demo-tenant,+13035550101,ann.lee@example.com\n"  # takes Bob's number
        f"{CY},demo-tenant,+13035550102,\n"
    )
    module = load("agent_sync")
    before = len(writes(env))
    assert module.main([str(wanted), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"would offboard {BOB}",
        f"would update {ANN}: phone_number, upn",
        f"would onboard {CY}",
    ]
    assert len(writes(env)) == before

    assert module.main([str(wanted)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"offboard {BOB}",
        f"update {ANN}: phone_number, upn",
        f"onboard {CY}",
        "in sync",
    ]
    agents = {a["user_object_id"]: a for a in env.state()["agents"]}
    assert agents[BOB]["status"] == "offboarded"
    assert (agents[ANN]["phone_number"], agents[ANN]["upn"]) == (
        "+13035550101",
        "ann.lee@example.com",
    )
    assert (agents[CY]["status"], agents[CY]["phone_number"]) == ("active", "+13035550102")

    after = len(writes(env))
    assert module.main([str(wanted)]) == 0
    assert capsys.readouterr().out.splitlines() == ["in sync"]
    assert len(writes(env)) == after


def test_agent_sync_reports_a_refused_change_and_exits_1(
    env: ThreadedSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    onboard((ANN, "+13035550100", "ann@example.com"))
    wanted = tmp_path / "agents.csv"
    wanted.write_text(
        f"user_object_id,tenant_id,phone_number\n{ANN},demo-tenant,+13035550100\n"
        f"{CY},other-tenant,+13035550102\n"
    )
    assert load("agent_sync").main([str(wanted)]) == 1
    out = capsys.readouterr().out
    assert f"FAILED to onboard {CY}: " in out
    assert "Tenant ID is not registered with SmartCommunicator" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("user_object_id,tenant_id\nx,demo-tenant\n")
    assert load("agent_sync").main([str(bad)]) == 2
    assert "line 2: user_object_id, tenant_id and phone_number are needed" in (
        capsys.readouterr().err
    )


# -- ivr_callflow.py ------------------------------------------------------------------------------

IVR = ["Support line", "--sip-user", SIP_USER, "--forward", "+441234567890", "--mailbox", MAILBOX]


def test_ivr_callflow_is_drawn_and_created_on_the_next_extensions(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load("ivr_callflow")
    assert module.main(IVR) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart TD\n")
    assert "created 'Support line' on extension 500: " in out
    assert module.main([*IVR, "--dot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('digraph "Support line"')
    assert "on extension 501" in out
    flows = env.state()["yay"]["callflows"]["(reseller)"]
    assert sorted(f["extension"] for f in flows) == [500, 501]
    module_types = sorted(m["module"] for m in flows[0]["flow"].values())
    assert module_types == ["extension", "extension", "pressextension", "start", "voicemail"]


def test_ivr_callflow_checks_before_sending(
    env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load("ivr_callflow")
    assert module.main([*IVR, "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD\n")
    bad = [*IVR[:3], "--forward", "01234 567890", *IVR[5:]]
    assert module.main(bad) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "E.164" in err
    assert writes(env) == []


# -- fastapi_receiver.py and receiver_app.py, delivered to by the simulator -------------------


@contextmanager
def webhook_served(app: Any, number: str) -> Iterator[str]:
    """Serve `app` with uvicorn and point `number`'s webhook at it (Basic auth ip:pw)."""
    with uvicorn_in_thread(app) as url:

        async def point() -> None:
            async with AsyncIntelePeer() as ip:
                webhook = f"http://ip:pw@{url.removeprefix('http://')}/sms"
                await ip.sms.webhooks.set(number, webhook)

        anyio.run(point)
        yield url


@pytest.fixture
def receiver_env(env: ThreadedSandbox, monkeypatch: pytest.MonkeyPatch) -> ThreadedSandbox:
    monkeypatch.setenv("SMS_SHARED_CODE", "old-code,demo-shared-code")
    monkeypatch.setenv("SMS_WEBHOOK_USER", "ip")
    monkeypatch.setenv("SMS_WEBHOOK_PASSWORD", "pw")
    return env


def replies(sb: ThreadedSandbox) -> list[dict[str, Any]]:
    return [r["body"] for r in sb.requests("POST", "/_rest/v4/app/sms/send")]


def test_fastapi_receiver_replies_once_per_message(receiver_env: ThreadedSandbox) -> None:
    sb, number = receiver_env, "+13035550104"
    module = load("fastapi_receiver")
    with webhook_served(module.app, number) as url:
        stop = sb.send_inbound(SENDER, number, "Stop.")["deliveries"][0]
        assert [a["status"] for a in stop["attempts"]] == [200]
        [answer] = replies(sb)
        assert (answer["from"], answer["to"]) == (number, SENDER)
        assert answer["text"].startswith("You are unsubscribed")
        again = sb.resend(stop["id"])  # a redelivery: handled before, nothing runs or replies
        assert [a["status"] for a in again["attempts"]] == [200]
        assert len(replies(sb)) == 1

        # A reply the vendor refuses before processing: the handler fails (500), the
        # simulator redelivers a second later, and that run replies: still one reply.
        sb.add_fault(kind="rate_limit", retry_after=0, method="POST", times=3)
        help_ = sb.send_inbound(SENDER, number, "HELP")["deliveries"][0]
        assert [a["status"] for a in help_["attempts"]] == [500]
        sb.advance(1)
        statuses = [r["status"] for r in sb.requests("POST", "/_rest/v4/app/sms/send")]
        assert statuses == [202, 429, 429, 429, 202]
        assert replies(sb)[-1]["text"].startswith("Order updates")

        # A reply whose answer is lost may have gone out: it counts as sent, never resent.
        sb.add_fault(kind="drop_after", method="POST", path="/_rest/v4/app/sms/send", times=1)
        end = sb.send_inbound(SENDER, number, "END")["deliveries"][0]
        assert [a["status"] for a in end["attempts"]] == [200]
        assert len(replies(sb)) == 6

        # A gateway's 5xx after the send reached the vendor (what an ASGI-hosted simulator
        # answers for drop_after): the reply may have gone out, so it is not resent either.
        sb.add_fault(kind="error", status=502, method="POST", path="/_rest/v4/app/sms/*")
        quit_ = sb.send_inbound(SENDER, number, "QUIT")["deliveries"][0]
        sb.clear_faults()
        sb.advance(5)  # a redelivery, had the handler failed, would be due by now
        [quit_] = [d for d in sb.deliveries() if d["id"] == quit_["id"]]
        assert [a["status"] for a in quit_["attempts"]] == [200]
        assert len(replies(sb)) == 7
        stats = httpx.get(f"{url}/stats", timeout=5).json()
    assert stats == {"received": 4, "opted_out": 3, "replies": 4}


def test_receiver_app_takes_the_simulators_deliveries(
    receiver_env: ThreadedSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    sb, number = receiver_env, "+13035550105"
    module = load("receiver_app")
    with webhook_served(module.app, number):
        sb.send_inbound(SENDER, number, "STOP!")
        assert module.opted_out == {SENDER}
        sb.send_inbound(SENDER, number, "start")
        assert module.opted_out == set()
    assert [d["state"] for d in sb.deliveries()] == ["delivered", "delivered"]
    out = capsys.readouterr().out
    assert "sender opted out" in out and "sender opted back in" in out


@pytest.mark.anyio
async def test_receiver_app_refuses_what_is_not_from_intelepeer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMS_SHARED_CODE", "old-code,new-code")
    monkeypatch.setenv("SMS_WEBHOOK_USER", "ip")
    monkeypatch.setenv("SMS_WEBHOOK_PASSWORD", "pw")
    module = load("receiver_app")
    seed = json.loads((FIXTURES / "inbound_sms.json").read_text())
    transport = httpx.ASGITransport(app=module.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rx") as http:
        message = {**seed, "signature": "new-code", "message": "stop"}
        assert (await http.post("/", json=message)).status_code == 401  # no Basic auth
        forged = {**message, "signature": "SECRET CODE"}
        assert (await http.post("/", json=forged, auth=("ip", "pw"))).status_code == 403
        old = {**message, "signature": "old-code"}  # rotation: either code is accepted
        assert (await http.post("/", json=old, auth=("ip", "pw"))).status_code == 200
    assert module.opted_out == {seed["from"]}


# -- callflow_diagram.py (offline: no API) ----------------------------------------------------


def test_callflow_diagram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    module = load("callflow_diagram")
    assert module.main([str(FIXTURES / "callflow_get_200.json")]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD")
    assert module.main([str(FIXTURES / "callflow_create_body.json"), "--dot"]) == 0
    assert capsys.readouterr().out.startswith('digraph "Call Pete"')
    broken = json.loads((FIXTURES / "callflow_create_body.json").read_text())
    broken["flow"] = {}
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    assert module.main([str(tmp_path / "broken.json")]) == 1
    assert "no 'start' module" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b'{"name": "x",\n', "is not JSON: Expecting"),  # truncated
        (b"[]", "must hold a JSON object (a call flow)"),
        (b'{"name": "x", "extension": "abc", "flow": []}', "is not a call flow: extension: "),
        (b'{"name": "x", "flow": {"start": {"type": 7}}}', "is not a call flow: flow."),
        (b'{"name": "caf\xe9"}', "is not JSON: 'utf-8' codec can't decode"),
        (None, "cannot read"),  # no such file
    ],
)
def test_callflow_diagram_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, error: str
) -> None:
    module = load("callflow_diagram")
    path = tmp_path / "flow.json"
    if content is not None:
        path.write_bytes(content)
    assert module.main([str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert error in captured.err


def test_every_example_is_listed_in_the_readme_and_run_here() -> None:
    readme = (EXAMPLES.parent / "README.md").read_text()
    listed = readme.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    tests = Path(__file__).read_text() + (Path(__file__).parent / "test_demo.py").read_text()
    for script in sorted(EXAMPLES.glob("*.py")):
        assert f"| `{script.name}" in listed, f"{script.name} is not in the README's examples"
        assert f'load("{script.stem}")' in tests or f'"{script.name}"' in tests, script.name
