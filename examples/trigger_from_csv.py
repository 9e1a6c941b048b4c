"""Trigger a SmartFlow once for each row of a CSV file, and report every row.

    python examples/trigger_from_csv.py demo-flow customers.csv --dnis +13035550100

The CSV has an ``ANI`` column (whom the flow texts or calls, E.164), optionally
``DNIS`` (the caller ID, a number on your account; `--dnis` fills it where a row
has none), and one column per flow variable: ``OrderNo`` becomes ``$OrderNo``
(names are case-sensitive). Every row is checked before the first is sent, so a
typo in row 40 does not leave rows 1-39 triggered and the rest not. Rows go out
4 at a time. A trigger may text or call someone, so one whose answer was lost
is reported "may have run" and never resent. Exit code 0 when every row was
accepted, 1 otherwise, 2 when the file is unusable.

Credentials come from INTELEPEER_TOKEN or INTELEPEER_USERNAME/INTELEPEER_PASSWORD;
INTELEPEER_BASE_URL points it at the simulator (``intelepeer sandbox``: user and
password ``demo``, flow ``demo-flow``, caller IDs ``+13035550100``..``119``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import anyio

from intelepeer_async import APIConnectionError, APIStatusError, AsyncIntelePeer, IntelePeerError
from intelepeer_async.types import is_e164

CONCURRENCY = 4


@dataclass
class Row:
    line: int
    ani: str
    dnis: str
    variables: dict[str, str]


def read_rows(path: Path, dnis: str | None) -> tuple[list[Row], list[str]]:
    """Every row, and every problem found in any of them."""
    rows: list[Row] = []
    problems: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.DictReader(file)
        columns = {name.lower(): name for name in reader.fieldnames or []}
        if "ani" not in columns:
            return [], ["no ANI column"]
        if "flowId" in columns.values():
            return [], ["a flowId column would replace the trigger's own flowId"]
        for record in reader:
            line = reader.line_num
            ani = (record.get(columns["ani"]) or "").strip()
            caller = (record.get(columns.get("dnis", "")) or "").strip() or dnis or ""
            for field, value in (("ANI", ani), ("DNIS", caller)):
                if not is_e164(value):
                    problems.append(f"line {line}: {field} is missing or not E.164")
            variables = {
                name: value
                for name, value in record.items()
                if name and name.lower() not in ("ani", "dnis") and value
            }
            rows.append(Row(line, ani, caller, variables))
    if not rows and not problems:
        problems.append("no rows")
    return rows, problems


async def trigger_all(flow_id: str, rows: list[Row]) -> int:
    failed = 0
    limit = anyio.CapacityLimiter(CONCURRENCY)

    async def trigger(ip: AsyncIntelePeer, row: Row) -> None:
        nonlocal failed
        async with limit:
            try:
                result = await ip.smartflows.trigger(
                    flow_id, ani=row.ani, dnis=row.dnis, variables=row.variables
                )
                outcome = "accepted" if result.accepted else "not accepted"
                failed += not result.accepted
            except APIConnectionError as exc:
                outcome = (
                    "may have run: check before retrying"
                    if exc.may_have_been_processed
                    else ("not sent (no connection)")
                )
                failed += 1
            except APIStatusError as exc:
                outcome = f"refused: HTTP {exc.status_code} {exc.message}"
                failed += 1
            except IntelePeerError as exc:  # e.g. refused before sending
                outcome = f"not sent: {exc}"
                failed += 1
        print(f"line {row.line}: {outcome}")

    async with AsyncIntelePeer() as ip, anyio.create_task_group() as tg:
        for row in rows:
            tg.start_soon(trigger, ip, row)
    print(f"{len(rows) - failed} of {len(rows)} rows accepted")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Trigger a SmartFlow for each CSV row.")
    parser.add_argument("flow_id")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--dnis", help="caller ID for rows without a DNIS column value")
    args = parser.parse_args(argv)
    try:
        rows, problems = read_rows(args.csv, args.dnis)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print(f"error: cannot read {args.csv}: {exc}", file=sys.stderr)
        return 2
    if problems:
        print(f"error: {args.csv}: nothing sent", *problems, sep="\n  ", file=sys.stderr)
        return 2
    return anyio.run(trigger_all, args.flow_id, rows)


if __name__ == "__main__":
    sys.exit(main())
