"""Target 5: what the SDK's entry points cost to import, each in fresh interpreters.

Each statement runs in a new interpreter (median of 10), timed from inside it
(`perf_counter` around the statement) so interpreter start-up is left out;
``intelepeer --help`` and its baseline are timed as whole processes, as a user
waits for them. Ratios: everything the client needs <= 1.25x ``import httpx,
pydantic, anyio``; ``import receiver`` and building an app <= 1.25x ``import
starlette, pydantic``; ``intelepeer --help`` <= 1.5x ``python -c "import httpx"``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from ._harness import ROOT, Bench, Row

TITLE = "imports (target 5)"

CLIENT = (
    "from intelepeer_async import AsyncIntelePeer, AsyncYay; "
    "ip = AsyncIntelePeer(token='t'); ip.sms; ip.smartflows; ip.agents; "
    "AsyncYay(reseller='r', user='u', password='p').callflows"
)
CLIENT_BASELINE = "import httpx, pydantic, anyio"
RECEIVER = "import receiver; receiver.SmsReceiver(verifier=receiver.SharedCode('s')).app"
RECEIVER_BASELINE = "import starlette, pydantic"


def inside(statement: str) -> float:
    """Seconds `statement` takes in a fresh interpreter, timed from inside it."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return float(out.stdout) * 1000


def whole(command: list[str]) -> float:
    """Milliseconds a whole process takes, start-up included."""
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, cwd=ROOT)
    return (time.perf_counter() - started) * 1000


def run(bench: Bench) -> list[Row]:
    runs = bench.size(10, 1)
    cli = str(Path(sys.executable).with_name("intelepeer"))
    series: dict[str, list[float]] = {name: [] for name in ("c", "cb", "r", "rb", "h", "hb")}
    for _ in range(runs):  # interleaved, like every other suite
        series["c"].append(inside(CLIENT))
        series["cb"].append(inside(CLIENT_BASELINE))
        series["r"].append(inside(RECEIVER))
        series["rb"].append(inside(RECEIVER_BASELINE))
        series["h"].append(whole([cli, "--help"]))
        series["hb"].append(whole([sys.executable, "-c", "import httpx"]))
    return [
        Row(
            "5",
            "import: every resource of the SDK / import httpx, pydantic, anyio",
            "ms",
            series["c"],
            series["cb"],
            "<= 1.25",
        ),
        Row(
            "5",
            "import receiver + build an app / import starlette, pydantic",
            "ms",
            series["r"],
            series["rb"],
            "<= 1.25",
        ),
        Row(
            "5",
            'intelepeer --help / python -c "import httpx" (whole processes)',
            "ms",
            series["h"],
            series["hb"],
            "<= 1.5",
        ),
    ]
