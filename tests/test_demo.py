"""`make demo` (examples/demo.py): runs end to end, checks itself, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import importlib.util
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).parent.parent
DEMO = [sys.executable, str(ROOT / "examples" / "demo.py")]
STEPS = ["start", "log in", "provision", "webhook", "flow", "sms", "agent", "call flow"]
STEPS += ["faults", "inbound"]


def test_make_demo_runs_the_script_after_the_virtualenv() -> None:
    # -n: print the recipe only (never rebuild .venv under a running suite); run from
    # `make test`, the outer make's flags must not leak in.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    planned = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo"],  # noqa: S607 - make from PATH
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert planned.stdout.strip().splitlines()[-1] == ".venv/bin/python examples/demo.py"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_runs_every_step_and_exits_0(backend: str) -> None:
    # With a proxy in the environment (as for pip): loopback traffic must not go to it.
    # Port 9 on loopback refuses, so a request sent to the "proxy" would fail the demo.
    proxy = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "ALL_PROXY": proxy}
    env.update(http_proxy=proxy, all_proxy=proxy)
    started = time.monotonic()
    done = subprocess.run(
        [*DEMO, "--backend", backend],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    out = done.stdout
    names = re.findall(r"^\[\s*\d+/10\] (\S+(?: \S+)?)\s{2,}", out, re.M)
    assert [n.strip() for n in names] == STEPS
    assert "Queued -> Sent -> DLR:Delivered" in out
    assert 'flowchart TD\n                     n0["start<br/>start"]' in out
    assert "GET status: [503, 429, 200]" in out
    assert "may_have_been_processed=True" in out and "not resent" in out
    assert "handler save failed on inbound SMS" in out  # the receiver's own log line
    assert "3 messages, each handled exactly once" in out
    assert "demo-webhook-pass" not in out  # the webhook password is masked
    assert out.rstrip().endswith("simulator and receiver stopped")
    assert elapsed < 60, f"the demo took {elapsed:.0f}s"


def read_until(proc: subprocess.Popen[bytes], pattern: str, timeout: float) -> str:
    """Standard output up to a line matching `pattern`, read unbuffered (it keeps running)."""
    assert proc.stdout is not None
    fd, seen = proc.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, seen.decode(), re.M):
        assert time.monotonic() < deadline, f"no {pattern!r} in time: {seen!r}"
        if select.select([fd], [], [], 0.5)[0]:
            chunk = os.read(fd, 65536)
            assert chunk, f"the demo ended early: {seen!r}"
            seen += chunk
    return seen.decode()


def refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_mid_run_stops_everything(backend: str) -> None:
    # Its own session: afterwards, no process may be left in its group.
    proc = subprocess.Popen(
        [*DEMO, "--backend", backend, "--pace", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        seen = read_until(proc, r"^\[ 1/10\] start .*\n", timeout=60)  # then 30 s pauses
        ports = [int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", seen)[:2]]
        assert len(ports) == 2 and not any(refused(p) for p in ports)  # simulator, receiver
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=20)[1].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert err.strip() == "demo: interrupted; the simulator and the receiver are stopped"
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)
    assert all(refused(p) for p in ports)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize(
    ("failure", "line"),
    [
        ("claim", "demo failed: expected an agent to be onboarded"),  # a check that failed
        ("error", "demo failed: RuntimeError: the agent service went away"),  # anything else
    ],
)
def test_a_failure_exits_1_with_one_line(
    backend: str,
    failure: str,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A failure deep inside the simulator's and the receiver's task groups reaches main()
    # as itself (not wrapped in an ExceptionGroup): exit 1 and one clear line.
    demo = load_demo(monkeypatch)

    async def broken(self: object) -> None:
        if failure == "claim":
            demo.expect(False, "an agent to be onboarded")
        raise RuntimeError("the agent service went away")

    monkeypatch.setattr(demo.Demo, "onboard_agent", broken)
    assert demo.main(["--backend", backend]) == 1
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_inside_a_task_group_exits_130(
    backend: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Under trio, Ctrl-C is raised in whichever task runs at that moment (CI caught it in
    # the simulator's accept loop) and reaches main() inside the task group's exception
    # group: that is still an interruption (130), not "demo failed" with a traceback.
    demo = load_demo(monkeypatch)

    async def interrupted_in_a_task(self: object) -> None:
        raise BaseExceptionGroup("Exceptions from Trio nursery", [KeyboardInterrupt()])

    monkeypatch.setattr(demo.Demo, "onboard_agent", interrupted_in_a_task)
    assert demo.main(["--backend", backend]) == 130
    assert capsys.readouterr().err == (
        "demo: interrupted; the simulator and the receiver are stopped\n"
    )


def load_demo(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_under_test", ROOT / "examples" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
