"""pytest fixtures to test your own code against the simulator (a pytest plugin).

Installed with the package (entry point ``pytest11``), so in any test:

    def test_something(intelepeer_sandbox):
        url = intelepeer_sandbox.url        # every IntelePeer and Yay.com API here

`intelepeer_sandbox` is a fresh `ThreadedSandbox` per test: served on a free
loopback port from a background thread, so it works in plain sync tests and in
async tests under asyncio or trio alike. Its virtual clock stands still unless
the test advances it (``intelepeer_sandbox.advance(60)``), so token expiry,
message status and delivery retries are deterministic. Override
`intelepeer_sandbox_config` to change the account or rules.
This module imports nothing heavy until a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .config import SandboxConfig
    from .threaded import ThreadedSandbox


@pytest.fixture
def intelepeer_sandbox_config() -> SandboxConfig:
    """The config `intelepeer_sandbox` starts from: the demo account, clock standing still."""
    from .config import SandboxConfig

    return SandboxConfig(clock_rate=0.0)


@pytest.fixture
def intelepeer_sandbox(intelepeer_sandbox_config: SandboxConfig) -> Iterator[ThreadedSandbox]:
    """A simulator served on 127.0.0.1 for this test; stopped (thread joined) after it."""
    from .threaded import run_in_thread

    with run_in_thread(intelepeer_sandbox_config) as sandbox:
        yield sandbox
