"""Choosing a transport: the setting, its defaults, and the typed errors when it cannot run."""

from __future__ import annotations

import subprocess
import sys

import anyio
import httpx
import pytest

from intelepeer_async import APIConnectionError, AsyncIntelePeer, AsyncYay, InvalidInputError
from intelepeer_async._limit import DEFAULT_MAX_IN_FLIGHT
from intelepeer_async._transport import HttpxTransport


def test_httpx_is_the_default_and_its_pools_are_sized_to_the_queue() -> None:
    ip = AsyncIntelePeer(token="tok", max_in_flight=7)
    transport = ip._core.transport
    assert isinstance(transport, HttpxTransport)
    assert transport.clients == []  # made on first use
    transport._pool(1)  # both pools: 7 connections in pools of POOL_SHARD_SIZE (4)
    sizes = [
        (pool._max_connections, pool._max_keepalive_connections)
        for pool in (client._transport._pool for client in transport.clients)  # type: ignore[attr-defined]
    ]
    assert sizes == [(4, 4), (3, 3)]
    assert ip.max_in_flight == 7
    assert ip.with_options(timeout=3)._core.limit is ip._core.limit
    assert AsyncYay(reseller="r", user="u", password="p").max_in_flight == DEFAULT_MAX_IN_FLIGHT


def test_aiohttp_is_one_setting_away() -> None:
    from intelepeer_async._aiohttp import AiohttpTransport

    for client in (
        AsyncIntelePeer(token="tok", transport="aiohttp"),
        AsyncYay(reseller="r", user="u", password="p", transport="aiohttp"),
    ):
        assert isinstance(client._core.transport, AiohttpTransport)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "8"])
def test_max_in_flight_must_be_a_positive_whole_number(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="max_in_flight"):
        AsyncIntelePeer(token="tok", max_in_flight=bad)  # type: ignore[arg-type]


def test_an_unknown_transport_or_an_httpx_client_with_aiohttp_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="httpx, aiohttp"):
        AsyncIntelePeer(token="tok", transport="requests")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="http_client"):
        AsyncIntelePeer(token="tok", transport="aiohttp", http_client=httpx.AsyncClient())


def test_aiohttp_under_trio_is_a_typed_error_and_nothing_is_sent() -> None:
    async def main() -> None:
        async with AsyncIntelePeer(
            token="tok", base_url="http://127.0.0.1:9", transport="aiohttp"
        ) as ip:
            with pytest.raises(InvalidInputError, match="asyncio only") as info:
                await ip.sms.status("refid")
            assert "never sent" in str(info.value)
            assert ip._core.limit.in_flight == 0  # the slot was given back

    anyio.run(main, backend="trio")


def test_aiohttp_bound_to_its_first_event_loop() -> None:
    ip = AsyncIntelePeer(token="tok", base_url="http://127.0.0.1:9", transport="aiohttp")

    async def call() -> None:
        await ip.with_options(max_retries=0).sms.status("refid")

    with pytest.raises(APIConnectionError):  # nothing listens on port 9: refused
        anyio.run(call, backend="asyncio")
    with pytest.raises(InvalidInputError, match="one client per event loop"):
        anyio.run(call, backend="asyncio")


def test_without_the_extra_the_error_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['aiohttp'] = None\n"
        "from intelepeer_async import AsyncIntelePeer, InvalidInputError\n"
        "try:\n"
        "    AsyncIntelePeer(token='tok', transport='aiohttp')\n"
        "except InvalidInputError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "pip install 'intelepeer-async[aiohttp]'" in out.stdout
    assert out.stderr == ""
