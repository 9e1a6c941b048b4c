"""Print how long the SDK's imports take, each in a fresh interpreter.

    .venv/bin/python benchmarks/import_time.py [runs]

A bare ``import intelepeer_async`` loads neither httpx nor pydantic; this shows
what each entry point costs (median of `runs`, default 7). The ratios against
httpx/pydantic/starlette that issue 10 sets are in `make bench` (``imports``).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.imports import CLIENT, RECEIVER, inside

STATEMENTS = [
    "import intelepeer_async",
    "from intelepeer_async import AsyncIntelePeer",
    "from intelepeer_async import AsyncIntelePeer; AsyncIntelePeer(token='t').sms",
    CLIENT,
    "import receiver",
    RECEIVER,
]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    for statement in STATEMENTS:
        median = statistics.median(inside(statement) for _ in range(runs))
        print(f"{median:8.1f} ms  {statement}")


if __name__ == "__main__":
    main()
