"""Import costs and boundaries, checked in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys


def modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_bare_package_import_is_cheap() -> None:
    loaded = modules_after("import intelepeer_async")
    assert "httpx" not in loaded
    assert "pydantic" not in loaded


def test_receiver_never_imports_the_client_transport() -> None:
    loaded = modules_after("import receiver")
    assert "httpx" not in loaded
    assert "intelepeer_async._http" not in loaded


RECEIVER_APP = (
    "import receiver; rx = receiver.SmsReceiver(verifier=receiver.SharedCode('s')); rx.app"
)


def test_receiver_app_is_plain_asgi_without_starlette() -> None:
    """Issue 10: the app imports no framework; Starlette's routing loads for `route()` only."""
    built = modules_after(RECEIVER_APP)
    assert not [m for m in built if m == "starlette" or m.startswith("starlette.")]
    assert "asyncio" not in built  # nor an event loop's machinery: the server brings its own
    assert "starlette.routing" in modules_after(f"{RECEIVER_APP}; rx.route('/sms')")


def test_receiver_imports_neither_sqlite_nor_redis_until_used() -> None:
    loaded = modules_after("import receiver")
    assert "sqlite3" not in loaded and "redis" not in loaded
    assert "receiver.inbox.sqlite" not in loaded
    named = modules_after("from receiver import RedisInbox, RedisStore; RedisInbox('redis://h')")
    assert "redis" not in named  # redis-py loads with the first connection
    assert "sqlite3" in modules_after("from receiver import SqliteInbox")


def test_lazy_names_resolve() -> None:
    loaded = modules_after("from intelepeer_async import AsyncIntelePeer, InboundSms, CallFlow")
    assert "intelepeer_async.client" in loaded and "httpx" in loaded
