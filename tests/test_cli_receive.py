"""``intelepeer receive MODULE:ATTRIBUTE``: find the receiver, serve it on loopback."""

from __future__ import annotations

import importlib
import os
import re
import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from intelepeer_async.cli._receive import load_app

from .cli_support import ROOT, SCRIPT, clean_env, invoke, one_error_line, script
from .helpers import fixture_json

RX_ENV = {"SMS_SHARED_CODE": "s3cret", "SMS_WEBHOOK_USER": "ip", "SMS_WEBHOOK_PASSWORD": "pw"}


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "expected MODULE:ATTRIBUTE"),
        ("no_such_module_4711:rx", "no module named 'no_such_module_4711'"),
        ("examples.receiver_app:nothing", "'examples.receiver_app' has no attribute 'nothing'"),
        ("examples.receiver_app:codes", "is a list, not an SmsReceiver or an ASGI app"),
    ],
)
def test_what_cannot_be_served_is_a_usage_error(
    target: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for name, value in RX_ENV.items():
        monkeypatch.setenv(name, value)
    result = invoke("receive", target)
    assert result.exit_code == 2
    assert message in one_error_line(result)


def test_a_module_that_fails_to_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad_rx_module.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = invoke("receive", "bad_rx_module:rx")
    assert result.exit_code == 2
    assert one_error_line(result) == (
        "error: importing 'bad_rx_module' failed: RuntimeError: boom at import"
    )


def test_load_app_takes_a_receiver_or_an_asgi_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name, value in RX_ENV.items():
        monkeypatch.setenv(name, value)
    receiver_app = importlib.import_module("examples.receiver_app")

    assert load_app("examples.receiver_app:rx") is receiver_app.rx.app
    assert load_app("examples.receiver_app:app") is receiver_app.app
    assert load_app("examples.receiver_app:rx.app") is receiver_app.rx.app


def wait_for_port(proc: subprocess.Popen[str], deadline: float) -> int:
    """The port from uvicorn's start-up line on the child's stderr (read unbuffered)."""
    assert proc.stderr is not None
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096).decode()
            assert chunk, f"the receiver exited before it started: {seen}"
            seen += chunk
            found = re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", seen)
            if found:
                return int(found.group(1))
    raise AssertionError(f"the receiver did not start in time: {seen}")


def test_serves_a_receiver_until_ctrl_c() -> None:
    with subprocess.Popen(
        [SCRIPT, "receive", "examples.receiver_app:rx", "--port", "0"],
        cwd=ROOT,
        env=clean_env(**RX_ENV),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            port = wait_for_port(proc, time.monotonic() + 30)
            message = {**fixture_json("inbound_sms.json"), "signature": "s3cret"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                ok = http.post("/", json=message, auth=("ip", "pw"))
                forged = http.post("/", json={**message, "signature": "x"}, auth=("ip", "pw"))
            assert (ok.status_code, forged.status_code) == (200, 403)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"{message['refid']}: " in out
    assert "Traceback" not in err


def test_a_port_in_use_is_reported() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = script(
            "receive", "examples.receiver_app:rx", "--port", str(port), env=clean_env(**RX_ENV)
        )
    assert out.returncode == 1
    assert out.stderr.rstrip().splitlines()[-1] == (
        f"error: the receiver did not start on 127.0.0.1:{port} (see the log above)"
    )
    assert "Traceback" not in out.stderr
