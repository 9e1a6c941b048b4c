"""The scripts in examples/ run, against the vendors' documented answers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

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
