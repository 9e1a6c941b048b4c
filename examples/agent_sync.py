"""Make SmartCommunicator's agents match a list: onboard, update and offboard as needed.

    python examples/agent_sync.py agents.csv            # apply
    python examples/agent_sync.py agents.csv --dry-run  # only print the plan

agents.csv has the columns ``user_object_id`` (the Azure Object ID, which says who
is who), ``tenant_id``, ``phone_number`` and optionally ``upn``: one row per
agent who should be active. Active agents not in the file are offboarded
first (freeing their numbers), then changed agents are updated, then new ones
onboarded, so a number can move from one agent to another in one run. Running
it again changes nothing. Every change is printed; exit code 1 if any failed,
2 if the file is unusable.

Credentials come from INTELEPEER_TOKEN or INTELEPEER_USERNAME/INTELEPEER_PASSWORD
(SmartCommunicator logs in with the same), the customer from
INTELEPEER_CUSTOMER_ID; INTELEPEER_BASE_URL points it at the simulator
(``intelepeer sandbox``: user and password ``demo``, customer ``12345678``,
tenant ``demo-tenant``, agent numbers ``+13035550100``..``109``).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Awaitable
from pathlib import Path

import anyio

from intelepeer_async import Agent, AgentStatus, AsyncIntelePeer, IntelePeerError

FIELDS = ("tenant_id", "phone_number", "upn")


def read_agents(path: Path) -> dict[str, dict[str, str]]:
    """user_object_id -> the fields it should have (empty values left out)."""
    with path.open(newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    wanted: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        key = (row.get("user_object_id") or "").strip()
        fields = {name: (row.get(name) or "").strip() for name in FIELDS}
        if not key or not fields["tenant_id"] or not fields["phone_number"]:
            raise ValueError(f"line {line}: user_object_id, tenant_id and phone_number are needed")
        if key in wanted:
            raise ValueError(f"line {line}: user_object_id {key} is listed twice")
        wanted[key] = {name: value for name, value in fields.items() if value}
    return wanted


def changes(agent: Agent, fields: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if getattr(agent, name) != value}


async def attempt(what: str, call: Awaitable[object]) -> bool:
    try:
        await call
    except IntelePeerError as exc:
        print(f"FAILED to {what}: {exc}")
        return False
    print(what)
    return True


async def sync(wanted: dict[str, dict[str, str]], *, dry_run: bool) -> int:
    async with AsyncIntelePeer() as ip:
        active = {
            agent.user_object_id: agent
            for agent in await ip.agents.list()
            if agent.status == AgentStatus.ACTIVE and agent.user_object_id
        }
        leaving = sorted(active.keys() - wanted.keys())
        changed = {
            key: diff
            for key, fields in wanted.items()
            if key in active and (diff := changes(active[key], fields))
        }
        joining = [key for key in wanted if key not in active]
        if dry_run:
            for key in leaving:
                print(f"would offboard {key}")
            for key, diff in changed.items():
                print(f"would update {key}: {', '.join(diff)}")
            for key in joining:
                print(f"would onboard {key}")
            return 0
        ok = True
        for key in leaving:
            ok &= await attempt(f"offboard {key}", ip.agents.offboard(key))
        for key, diff in changed.items():
            update = ip.agents.update(
                key,
                tenant_id=diff.get("tenant_id"),
                phone_number=diff.get("phone_number"),
                upn=diff.get("upn"),
            )
            ok &= await attempt(f"update {key}: {', '.join(diff)}", update)
        for key in joining:
            fields = wanted[key]
            onboard = ip.agents.onboard(
                user_object_id=key,
                tenant_id=fields["tenant_id"],
                phone_number=fields["phone_number"],
                upn=fields.get("upn"),
            )
            ok &= await attempt(f"onboard {key}", onboard)
    print("in sync" if ok else "some changes failed: see above")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the agents match a CSV file.")
    parser.add_argument("csv", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    args = parser.parse_args(argv)
    try:
        wanted = read_agents(args.csv)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
        print(f"error: {args.csv}: {exc}", file=sys.stderr)
        return 2
    try:
        return anyio.run(lambda: sync(wanted, dry_run=args.dry_run))
    except IntelePeerError as exc:  # listing the agents failed: nothing was changed
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
