"""``python -m intelepeer_async.sandbox`` / ``intelepeer sandbox``, as a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from intelepeer_async.sandbox.cli import sandbox_command

from .serving import uvicorn_in_thread

COMMAND = [sys.executable, "-m", "intelepeer_async.sandbox"]


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [*COMMAND, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()  # the first line, flushed as soon as it listens
    assert url.startswith("http://127.0.0.1:"), (url, proc.stderr.read() if proc.stderr else "")
    return proc, url


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    code = proc.wait(timeout=15)
    assert proc.stdout is not None and proc.stderr is not None
    # read(), not communicate(): the first line's readline may have buffered the rest
    return code, proc.stdout.read() + proc.stderr.read()


@pytest.fixture
def served() -> Iterator[str]:
    proc, url = start("--clock-rate", "0", "--username", "ann", "--password", "s3cret-pw")
    try:
        yield url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=15)


def send_inbound(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``sandbox send-inbound`` with a proxy in the environment, which loopback must bypass
    (port 9 refuses: a request sent to the "proxy" fails)."""
    args = ["send-inbound", "--from", "+17205551212", "--to", "+13035550100", "--message", "hi"]
    proxy = "http://127.0.0.1:9"
    return subprocess.run(
        [*COMMAND, *args, "--url", url, *extra],
        env={**os.environ, "HTTP_PROXY": proxy, "ALL_PROXY": proxy, "http_proxy": proxy},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_serve_flags_and_send_inbound(served: str) -> None:
    with httpx.Client(base_url=served, timeout=5) as http:
        state = http.get("/_sandbox/state").json()
        assert state["account"]["username"] == "ann"
        assert state["account"]["password"] == "********"  # flags' secrets are not shown
        assert state["clock_rate"] == 0
        no_hook = send_inbound(served)
        assert no_hook.returncode == 1
        assert (
            no_hook.stderr.strip() == "error: to has no webhook: set one first (sms.webhooks.set)"
        )
        login = http.post(
            "/_rest/v4/authenticate", json={"username": "ann", "password": "s3cret-pw"}
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        body = {"endpoints": ["+13035550100"], "webhook": "http://127.0.0.1:9/sms"}
        assert (
            http.post("/_rest/v4/my/did/sms/webhook", json=body, headers=headers).status_code == 201
        )
    sent = send_inbound(served)
    assert sent.returncode == 0, sent.stderr
    assert "delivery 1 pending (attempt 1: ConnectError)" in sent.stdout
    as_json = send_inbound(served, "--json")
    assert json.loads(as_json.stdout)["deliveries"][0]["id"] == 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_stops_cleanly_on_signals(sig: int) -> None:
    proc, url = start()
    with httpx.Client(timeout=5) as http:
        assert http.get(f"{url}/_sandbox/clock").status_code == 200
    code, output = stop(proc, sig)
    assert code == 0, output
    assert "Traceback" not in output
    assert "IntelePeer: username demo, password demo" in output
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sandbox/clock", timeout=2)


def test_a_reader_that_went_away_is_not_a_listen_failure() -> None:
    # `intelepeer sandbox --port 0 | head -1`: the reader may be gone before the summary is
    # written. Here it is gone before the first line, so every write fails: the simulator
    # must go on serving, and stop cleanly on a signal, with nothing on stderr.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    read_end, write_end = os.pipe()
    os.close(read_end)
    proc = subprocess.Popen(
        [*COMMAND, "--port", str(port)], stdout=write_end, stderr=subprocess.PIPE, text=True
    )
    os.close(write_end)
    try:
        url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate(timeout=5)[1]
            try:
                assert httpx.get(f"{url}/_sandbox/clock", timeout=2).status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert err == ""


def test_config_file_and_fault_flags(tmp_path: Path) -> None:
    config = tmp_path / "sandbox.toml"
    config.write_text('customer_id = 777\nsmartflows = ["flow-a"]\n')
    fault = json.dumps({"kind": "error", "status": 503, "path": "/voip/*"})
    proc, url = start("--config", str(config), "--customer-id", "778", "--fault", fault)
    try:
        with httpx.Client(base_url=url, timeout=5) as http:
            state = http.get("/_sandbox/state").json()
            yay = http.get("/voip/flow")
    finally:
        code, _ = stop(proc, signal.SIGTERM)
    assert (state["account"]["customer_id"], state["account"]["smartflows"]) == (778, ["flow-a"])
    assert [f["kind"] for f in state["faults"]] == ["error"]
    assert yay.status_code == 503 and code == 0


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--fault", "{nope"], "not JSON"),
        (["--fault", '{"kind": "explode"}'], "faults.0.kind"),
        (["--clock-rate", "-1"], "clock_rate"),
        (["--port", "70000"], "70000"),
    ],
)
def test_bad_usage_exits_2(args: list[str], text: str) -> None:
    done = subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert text in done.stderr
    assert "Traceback" not in done.stderr


def test_port_in_use_and_unreachable_sandbox() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = subprocess.run(
            [*COMMAND, "--port", str(port)], capture_output=True, text=True, timeout=30, check=False
        )
    assert busy.returncode == 1
    assert busy.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    unreachable = send_inbound(f"http://me:s3cret@127.0.0.1:{port}")
    assert unreachable.returncode == 4  # network, as in the intelepeer command's table
    assert unreachable.stderr == (  # and the URL's password is not shown
        f"error: no response from the sandbox at http://me:***@127.0.0.1:{port} (ConnectError): "
        "is 'intelepeer sandbox' running there?\n"
    )


def test_send_inbound_needs_an_http_url_and_a_sandbox_answer() -> None:
    bad = send_inbound("localhost:8765")
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: Invalid value for --url: not an http(s) URL")
    with uvicorn_in_thread(Starlette()) as url:  # a server, but not a sandbox: 404 everywhere
        other = send_inbound(url)
    assert other.returncode == 1
    assert other.stderr == f"error: HTTP 404 from {url}: not a sandbox's answer\n"


def test_is_a_click_group_for_the_main_command() -> None:
    assert sandbox_command.name == "sandbox"
    assert "send-inbound" in sandbox_command.commands
