"""``python -m benchmarks``: run the suites, print the table, write results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib import import_module
from pathlib import Path
from types import ModuleType

from ._harness import Bench, Row

#: name -> module; each has TITLE and run(bench) -> list[Row]. Order is run order.
SUITES = {
    "imports": "benchmarks.imports",
    "calls": "benchmarks.client_calls",
    "flood": "benchmarks.flood",
    "webhooks": "benchmarks.bulk_webhooks",
    "receiver": "benchmarks.receiver",
}
RESULTS = Path(__file__).with_name("results.json")


def table(rows: list[Row]) -> str:
    head = f"| target | what | figure | baseline | ratio | goal | pass |\n|{'---|' * 7}"
    lines = [head]
    for row in rows:
        goal = f"{row.limit} {row.unit}" if row.limit else row.goal
        passed = {True: "yes", False: "NO", None: "-"}[row.passed]
        lines.append(
            f"| {row.target} | {row.name} | {row.figure:,.3g} {row.unit} |"
            f" {row.baseline:,.3g} {row.unit} | {row.ratio:.2f}x | {goal} |"
            f" {passed} |"
        )
    return "\n".join(lines)


def tally(rows: list[Row], elapsed: float) -> str:
    """The issue's targets met; the rows we added beside them, counted apart."""
    issue = [r for r in rows if r.issue_target]
    ours = [r for r in rows if not r.issue_target and r.passed is not None]
    line = f"{sum(bool(r.passed) for r in issue)}/{len(issue)} of the issue's targets met"
    if ours:
        line += f" (and {sum(bool(r.passed) for r in ours)}/{len(ours)} of the rows beside them)"
    return f"{line} in {elapsed:.0f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure issue 10's performance targets.")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run: code paths")
    parser.add_argument("--runs", type=int, default=None, help="runs per figure (default 3)")
    parser.add_argument("--only", action="append", choices=sorted(SUITES), help="run these")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where results.json goes")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    bench = Bench(quick=args.quick, runs=runs, log=lambda line: print(line, file=sys.stderr))
    started = time.perf_counter()
    rows: list[Row] = []
    for name in args.only or list(SUITES):
        suite: ModuleType = import_module(SUITES[name])
        print(f"== {suite.TITLE}", file=sys.stderr)
        suite_started = time.perf_counter()
        rows.extend(suite.run(bench))
        print(f"   {time.perf_counter() - suite_started:.0f} s", file=sys.stderr)
    elapsed = time.perf_counter() - started
    meta = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "pinned": {"client": bench.client_core, "server": bench.server_core},
        "runs_per_figure": runs,
        "quick": args.quick,
        "seconds": round(elapsed, 1),
    }
    args.out.write_text(
        json.dumps({"meta": meta, "results": [r.as_json() for r in rows]}, indent=2) + "\n"
    )
    print(table(rows))
    for row in rows:
        if row.note:
            print(f"- {row.name}: {row.note}")
    print(tally(rows, elapsed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
