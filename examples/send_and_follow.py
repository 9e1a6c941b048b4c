"""Send an SMS and follow its delivery status until it is final.

    python examples/send_and_follow.py --from +13035550100 --to +17205551212 "Your order is ready"

Asks for a delivery receipt and reads the message's status every `--interval`
seconds (default 2) until it is final (delivered, failed, undeliverable...) or
`--deadline` seconds (default 120) have passed. Exit code 0 when delivered, 1
otherwise. A send is billed: if its answer is lost, this says so and stops
rather than sending again.

Credentials come from INTELEPEER_TOKEN or INTELEPEER_USERNAME/INTELEPEER_PASSWORD;
INTELEPEER_BASE_URL points it at the simulator (``intelepeer sandbox``, user and
password ``demo``, numbers ``+13035550100``..``109``).
"""

from __future__ import annotations

import argparse
import sys

import anyio

from intelepeer_async import APIConnectionError, AsyncIntelePeer, IntelePeerError, MessageState

#: States after which the status can still change.
PENDING = {MessageState.QUEUED, MessageState.PROCESSING, MessageState.SENT, MessageState.ACCEPTED}


async def send_and_follow(
    sender: str, to: str, text: str, *, interval: float, deadline: float
) -> MessageState | None:
    async with AsyncIntelePeer() as ip:
        sent = await ip.sms.send(from_=sender, to=to, text=text, dlr=True)
        if not sent.refid:
            print(f"sent, but the answer has no refid to follow: {sent.raw}")
            return None
        print(f"sent {sent.refid}")
        last = None
        with anyio.move_on_after(deadline):
            while True:
                status = await ip.sms.status(sent.refid)
                if status.rcc_en != last:
                    print(f"  {status.rcc_en}")
                    last = status.rcc_en
                if status.state not in PENDING:
                    return status.state
                await anyio.sleep(interval)
        print(f"  still {last} after {deadline:g} s")
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send an SMS and follow its status.")
    parser.add_argument("--from", dest="sender", required=True, help="your number, E.164")
    parser.add_argument("--to", required=True, help="the recipient, E.164")
    parser.add_argument("text")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between reads")
    parser.add_argument("--deadline", type=float, default=120.0, help="seconds to follow it")
    args = parser.parse_args(argv)
    try:
        state = anyio.run(
            lambda: send_and_follow(
                args.sender, args.to, args.text, interval=args.interval, deadline=args.deadline
            )
        )
    except APIConnectionError as exc:
        if exc.may_have_been_processed:  # billed: check before sending it again
            print("no answer, but the SMS may have been sent: not sending it again")
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except IntelePeerError as exc:  # refused before sending, or an error status
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0 if state is MessageState.DELIVERED else 1


if __name__ == "__main__":
    sys.exit(main())
