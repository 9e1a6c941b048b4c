"""Point many numbers' inbound SMS at one receiver, and report the ones that failed.

    python examples/bulk_webhooks.py https://rx.example.com/sms +13035550100 +13035550101

Numbers go out 100 to a request, 8 requests at once; each number's outcome comes
back on its own. Exit code 1 if any number failed (each is printed), 2 on bad usage.

Credentials come from INTELEPEER_TOKEN or INTELEPEER_USERNAME/INTELEPEER_PASSWORD;
INTELEPEER_BASE_URL points it at the simulator (``intelepeer sandbox``: user and
password ``demo``, SMS-enabled numbers ``+13035550100``..``109``).
"""

from __future__ import annotations

import sys

import anyio

from intelepeer_async import AsyncIntelePeer


async def point(url: str, numbers: list[str]) -> int:
    async with AsyncIntelePeer() as ip:
        results = await ip.sms.webhooks.set(numbers, url)
    failed = [r for r in results if not r.ok]
    for result in failed:
        print(f"{result.number}: {result.status} {result.error}")
    print(f"{len(results) - len(failed)} of {len(results)} numbers now post to the receiver")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    return anyio.run(point, argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
