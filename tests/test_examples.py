"""The scripts in examples/ run, against the vendors' documented answers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import httpx
import pytest
import respx

from .helpers import FIXTURES

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bulk_webhooks(vendor: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    numbers = [f"+1303555{i:04d}" for i in range(120)]
    assert load("bulk_webhooks").main(["https://rx.example.com/sms", *numbers]) == 0
    assert "120 of 120 numbers" in capsys.readouterr().out


def test_bulk_webhooks_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert load("bulk_webhooks").main([]) == 2


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


@pytest.mark.anyio
async def test_receiver_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMS_SHARED_CODE", "old-code,new-code")
    monkeypatch.setenv("SMS_WEBHOOK_USER", "ip")
    monkeypatch.setenv("SMS_WEBHOOK_PASSWORD", "pw")
    module = load("receiver_app")
    seed = json.loads((FIXTURES / "inbound_sms.json").read_text())
    transport = httpx.ASGITransport(app=module.app)
    auth = httpx.BasicAuth("ip", "pw")
    async with httpx.AsyncClient(transport=transport, base_url="http://rx", auth=auth) as http:
        stop = {**seed, "signature": "new-code", "message": "stop"}
        assert (await http.post("/sms", json=stop)).status_code == 200
        assert module.opted_out == {seed["from"]}
        other = {**stop, "refid": "R1", "from": "1 303 555 0100", "message": "Unsubscribe."}
        assert (await http.post("/", json=other)).status_code == 200
        assert module.opted_out == {seed["from"], "1 303 555 0100"}
        start = {**stop, "refid": "R2", "signature": "old-code", "message": "Start"}
        assert (await http.post("/", json=start)).status_code == 200
        assert module.opted_out == {"1 303 555 0100"}
        forged = {**stop, "refid": "R3", "signature": "SECRET CODE"}
        assert (await http.post("/", json=forged)).status_code == 403
    out = capsys.readouterr().out
    assert "opted out" in out and "opted back in" in out
