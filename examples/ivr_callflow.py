"""Build an IVR call flow with CallFlowBuilder, draw it, and create it on Yay.com.

    python examples/ivr_callflow.py "Support line" --sip-user UUID --forward +441234567890 \\
        --mailbox UUID [--extension 501] [--dot] [--dry-run]

The menu: press 1 to ring the SIP user (voicemail if nobody answers), 2 to
forward to a number, anything else to hear the menu again; silence goes to
voicemail. The flow takes the next free extension unless `--extension` names
one. It is checked before anything is sent, printed as Mermaid (or Graphviz
with `--dot`), then created, unless `--dry-run` (which needs no credentials).
Creating a flow is billed: it is never resent after it may have arrived.

Credentials come from YAY_RESELLER, YAY_USER and YAY_PASSWORD (YAY_ACT_FOR for
a sub-account); YAY_BASE_URL points it at the simulator (``intelepeer sandbox``:
reseller, user and password ``demo``).
"""

from __future__ import annotations

import argparse
import sys

import anyio

from intelepeer_async import AsyncYay, CallFlow, CallFlowBuilder, IntelePeerError


def build(name: str, extension: int, sip_user: str, forward: str, mailbox: str) -> CallFlow:
    """The IVR; raises `InvalidInputError` listing every problem (e.g. a bad number)."""
    return (
        CallFlowBuilder(name, extension=extension)
        .start("menu")
        .ivr("menu", {"1": "sales", "2": "support"}, invalid="menu", timeout="voicemail")
        .ring("sales", sipusers=[sip_user], noanswer="voicemail", duration=20)
        .forward("support", forward, noanswer="voicemail")
        .voicemail("voicemail", mailboxes=[mailbox])
        .build()
    )


async def create(args: argparse.Namespace) -> int:
    async with AsyncYay() as yay:
        extension = args.extension or await yay.callflows.next_extension()
        if extension is None:
            print("error: Yay.com gave no free extension: pass --extension", file=sys.stderr)
            return 1
        flow = build(args.name, extension, args.sip_user, args.forward, args.mailbox)
        print(flow.to_dot() if args.dot else flow.to_mermaid(), end="")
        created = await yay.callflows.create(flow)
        print(f"created '{created.name}' on extension {created.extension}: {created.uuid}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create an IVR call flow on Yay.com.")
    parser.add_argument("name")
    parser.add_argument("--sip-user", required=True, help="UUID of the SIP user option 1 rings")
    parser.add_argument("--forward", required=True, help="E.164 number option 2 forwards to")
    parser.add_argument("--mailbox", required=True, help="UUID of the voicemail box")
    parser.add_argument("--extension", type=int, help="default: the next free one")
    parser.add_argument("--dot", action="store_true", help="draw Graphviz instead of Mermaid")
    parser.add_argument("--dry-run", action="store_true", help="check and draw only")
    args = parser.parse_args(argv)
    try:
        if args.dry_run:
            flow = build(
                args.name, args.extension or 500, args.sip_user, args.forward, args.mailbox
            )
            print(flow.to_dot() if args.dot else flow.to_mermaid(), end="")
            return 0
        return anyio.run(create, args)
    except IntelePeerError as exc:  # an invalid flow (nothing sent), or Yay.com refused
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
