"""Print how long the SDK's imports take, each in a fresh interpreter.

    .venv/bin/python benchmarks/import_time.py [runs]

A bare ``import intelepeer_async`` loads neither httpx nor pydantic; this shows
what each entry point costs (median of `runs`, default 7).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

STATEMENTS = [
    "import intelepeer_async",
    "from intelepeer_async import AsyncIntelePeer",
    "from intelepeer_async import AsyncIntelePeer; AsyncIntelePeer(token='t').sms",
    "import receiver",
]


def seconds(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    for statement in STATEMENTS:
        median = statistics.median(seconds(statement) for _ in range(runs))
        print(f"{median * 1000:8.1f} ms  {statement}")


if __name__ == "__main__":
    main()
