"""The ``intelepeer_sandbox`` pytest fixture (a plugin entry point) and `run_in_thread`."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from pathlib import Path

import anyio
import httpx
import pytest

from intelepeer_async import APIConnectionError, MessageState
from intelepeer_async.sandbox import SandboxConfig, ThreadedSandbox, run_in_thread

README = Path(__file__).parent.parent / "README.md"


def test_in_a_plain_sync_test(intelepeer_sandbox: ThreadedSandbox) -> None:
    assert intelepeer_sandbox.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{intelepeer_sandbox.url}/_sandbox/clock", timeout=5).json()["rate"] == 0

    async def send() -> str | None:
        async with intelepeer_sandbox.intelepeer_client() as ip:
            return (await ip.sms.send(from_="+13035550100", to="+13035550111", text="x")).refid

    first, second = anyio.run(send), anyio.run(send, backend="trio")
    assert first and second and first != second
    assert len(intelepeer_sandbox.state()["messages"]) == 2


@pytest.mark.anyio
async def test_in_an_async_test(intelepeer_sandbox: ThreadedSandbox) -> None:
    intelepeer_sandbox.add_fault(kind="drop_after", path="/_rest/v4/app/sms/send", times=1)
    async with intelepeer_sandbox.intelepeer_client() as ip:
        with pytest.raises(APIConnectionError):
            await ip.sms.send(from_="+13035550100", to="+13035550111", text="lost answer")
        sent = await ip.sms.send(from_="+13035550100", to="+13035550111", text="x", dlr=True)
        assert sent.refid
        assert intelepeer_sandbox.advance(3) == intelepeer_sandbox.now()
        assert (await ip.sms.status(sent.refid)).state is MessageState.DELIVERED
    sends = intelepeer_sandbox.requests(method="POST", path="/_rest/v4/app/sms/send")
    assert [r["dropped"] for r in sends] == [True, False]
    assert intelepeer_sandbox.faults() == []  # spent


class TestWithAnotherAccount:
    @pytest.fixture
    def intelepeer_sandbox_config(self) -> SandboxConfig:
        return SandboxConfig(
            clock_rate=0, username="ann", password="pw", sms_numbers=["+15555550100"]
        )

    def test_the_config_fixture_can_be_overridden(
        self, intelepeer_sandbox: ThreadedSandbox
    ) -> None:
        state = intelepeer_sandbox.state()
        assert state["account"]["username"] == "ann"
        assert [n["number"] for n in state["numbers"]][:1] == ["+15555550100"]

        async def yay_list() -> int:
            async with intelepeer_sandbox.yay_client() as yay:
                return len(await yay.callflows.list())

        assert anyio.run(yay_list) == 0


def test_threaded_sandbox_api_and_no_thread_left() -> None:
    before = threading.active_count()
    with run_in_thread(SandboxConfig(clock_rate=0)) as sb:
        fault = sb.add_fault({"kind": "latency", "seconds": 0.01})
        sb.remove_fault(fault["id"])
        sb.add_fault(kind="error")
        sb.clear_faults()
        assert sb.faults() == []
        with httpx.Client(base_url=sb.url, timeout=5) as http:
            http.get("/voip/flow")
        assert len(sb.requests()) == 1
        sb.clear_requests()
        assert sb.requests() == [] and sb.deliveries() == []
    assert threading.active_count() == before


def test_the_readme_fixture_example_passes_in_a_project_of_its_own(tmp_path: Path) -> None:
    """The README's pytest example, run by pytest as a user's test module would be."""
    found = re.search(r"```python (test_\w+\.py)\n(.*?)```", README.read_text(), re.S)
    assert found, "README has a pytest example"
    (tmp_path / found.group(1)).write_text(found.group(2))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", found.group(1)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_importing_the_package_and_the_plugin_is_cheap() -> None:
    """pytest loads the plugin in every run of a project that has the package installed."""
    code = (
        "import sys, intelepeer_async.sandbox, intelepeer_async.sandbox.pytest_plugin; "
        "print(' '.join(sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert not loaded & {"httpx", "starlette", "h11", "anyio", "intelepeer_async.sandbox.app"}
