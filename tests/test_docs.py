"""Every Python block in the README runs, against the vendors' documented answers."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from .helpers import fixture_json

ROOT = Path(__file__).parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 6


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(
    index: int, vendor: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    code = compile(BLOCKS[index], f"README.md python block {index}", "exec")
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(code, namespace)  # noqa: S102 - our own README
    if "app" in namespace:  # a receiver: deliver the seed's message to it
        asyncio.run(deliver(namespace["app"]))
    assert capsys.readouterr().out.strip(), "each example shows what it did"


async def deliver(app: Any) -> None:
    """POST the seed's inbound SMS with the README's credentials; expect 200."""
    body = {**fixture_json("inbound_sms.json"), "signature": "s3cret", "message": "STOP please"}
    auth = httpx.BasicAuth("intelepeer", "webhook-pass")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rx", auth=auth) as http:
        assert (await http.post("/", json=body)).status_code == 200
        assert (await http.post("/", json={**body, "signature": "guess"})).status_code == 403
