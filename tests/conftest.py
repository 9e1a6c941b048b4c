"""Shared fixtures: every async test runs under both asyncio and trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import respx

from intelepeer_async import AsyncIntelePeer, AsyncYay, _http

from . import fake_vendor
from .redis_server import redis_server

BASE = "https://ip.test"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis of our own on a free loopback port, for the whole session.

    Missing redis-server makes the tests that use it ERROR: they are never skipped.
    """
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


#: Every (event loop, transport) pair the SDK supports: aiohttp runs under asyncio only.
LOOPS_AND_TRANSPORTS = [("asyncio", "httpx"), ("asyncio", "aiohttp"), ("trio", "httpx")]


@pytest.fixture(params=LOOPS_AND_TRANSPORTS, ids=lambda pair: f"{pair[0]}-{pair[1]}")
def loop_and_transport(request: pytest.FixtureRequest) -> tuple[str, str]:
    """For modules that test behaviour on both transports. Such a module overrides
    ``anyio_backend`` to return ``loop_and_transport[0]``, and passes the
    `transport` fixture to every client it builds."""
    pair: tuple[str, str] = request.param
    return pair


@pytest.fixture
def transport(loop_and_transport: tuple[str, str]) -> str:
    """The transport name to pass as ``transport=`` (used with `loop_and_transport`)."""
    return loop_and_transport[1]


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """respx router; unmatched requests fail the test."""
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
async def ip() -> AsyncIterator[AsyncIntelePeer]:
    """A client with a ready token and customer 12345678, every service at BASE."""
    async with AsyncIntelePeer(
        token="tok", customer_id=12345678, smartcomm_token="jwt", base_url=BASE, max_retries=2
    ) as client:
        yield client


@pytest.fixture
async def yay() -> AsyncIterator[AsyncYay]:
    async with AsyncYay(reseller="r1", user="u1", password="p1", base_url=BASE) as client:
        yield client


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Back-off delays the core asked for, without waiting."""
    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(_http, "_sleep", fake_sleep)
    return recorded


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[respx.MockRouter]:
    """The vendors' documented answers on their real hosts, and credentials in the env."""
    for name in ("INTELEPEER_TOKEN", "INTELEPEER_BASE_URL", "YAY_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_vendor.ENV.items():
        monkeypatch.setenv(name, value)
    with respx.mock(assert_all_called=False) as router:
        fake_vendor.install(router)
        yield router
