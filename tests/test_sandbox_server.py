"""The simulator's HTTP/1.1 server at the socket level, and the app under uvicorn."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from intelepeer_async import NotFoundError
from intelepeer_async.sandbox import SandboxConfig, SandboxServer, create_app, serve

from .serving import uvicorn_in_thread

pytestmark = pytest.mark.anyio

SEND = "/_rest/v4/app/sms/send"


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    async with serve(SandboxConfig(clock_rate=0, max_body_bytes=4096)) as running:
        yield running


async def connect(server: SandboxServer) -> SocketStream:
    return await anyio.connect_tcp("127.0.0.1", server.port)


async def read_all(stream: SocketStream) -> bytes:
    """Everything until the server closes (bounded), or b'' on a reset."""
    data = b""
    with anyio.fail_after(5):
        while True:
            try:
                data += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
                return data


async def read_response(stream: SocketStream) -> bytes:
    """One response with a Content-Length body."""
    data = b""
    with anyio.fail_after(5):
        while b"\r\n\r\n" not in data:
            data += await stream.receive()
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        while len(body) < length:
            body += await stream.receive()
    return head + b"\r\n\r\n" + body


def request(path: str, *, method: str = "GET", body: bytes = b"", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    return head.encode() + body


async def test_keep_alive_serves_several_requests_on_one_connection(server: SandboxServer) -> None:
    async with await connect(server) as stream:
        for _ in range(3):
            await stream.send(request("/_sandbox/clock"))
            answer = await read_response(stream)
            assert answer.startswith(b"HTTP/1.1 200 OK")
            assert json.loads(answer.partition(b"\r\n\r\n")[2])["rate"] == 0


async def test_connection_close_is_honoured(server: SandboxServer) -> None:
    async with await connect(server) as stream:
        await stream.send(request("/_sandbox/clock", extra="Connection: close\r\n"))
        data = await read_all(stream)
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"}")


async def test_malformed_request_gets_400(server: SandboxServer) -> None:
    async with await connect(server) as stream:
        await stream.send(b"NOT HTTP AT ALL\r\n\r\n")
        data = await read_all(stream)
    assert data.startswith(b"HTTP/1.1 400")
    assert b'"error"' in data


async def test_drop_before_cuts_the_connection_without_an_answer(server: SandboxServer) -> None:
    server.sandbox.add_fault(kind="drop_before", path=SEND, times=1)
    async with await connect(server) as stream:
        await stream.send(request(SEND, method="POST", body=b'{"to": "x"}'))
        assert await read_all(stream) == b""
    record = server.sandbox.requests(path=SEND)[0]
    assert (record["dropped"], record["processed"], record["body"]) == (True, False, None)


async def test_body_over_the_limit_is_413(server: SandboxServer) -> None:
    async with await connect(server) as stream:
        await stream.send(request(SEND, method="POST", body=b"x" * 5000))
        answer = await read_response(stream)
    assert answer.startswith(b"HTTP/1.1 413")


async def test_head_chunked_and_expect_continue(server: SandboxServer) -> None:
    before = server.sandbox.now()
    async with await connect(server) as stream:
        await stream.send(b"HEAD /_sandbox/clock HTTP/1.1\r\nHost: t\r\n\r\n")
        with anyio.fail_after(5):
            head = await stream.receive()
        assert head.startswith(b"HTTP/1.1 200") and head.endswith(b"\r\n\r\n")  # no body
        chunked = (
            b"POST /_sandbox/clock HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        await stream.send(chunked)
        with anyio.fail_after(5):
            assert (await stream.receive()).startswith(b"HTTP/1.1 100")
        body = b'{"advance": 5}'
        await stream.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        answer = await read_response(stream)
    assert answer.startswith(b"HTTP/1.1 200")
    assert server.sandbox.now() == before + 5  # the chunked body arrived whole


async def test_unknown_paths_answer_json_404(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        missing = await http.get("/nope")
        control = await http.get("/_sandbox/nope")
    assert (missing.status_code, missing.json()) == (404, {"code": 404, "error": "Not Found"})
    assert (control.status_code, control.json()["error"]) == (404, "Not Found")
    assert [r["path"] for r in server.sandbox.requests()] == ["/nope"]  # control calls unlogged


async def test_absurd_bodies_are_refused_not_crashed_on(server: SandboxServer) -> None:
    deep = b"[" * 1500 + b"]" * 1500  # deeper than json can parse, within the body limit
    async with httpx.AsyncClient(base_url=server.url) as http:
        login = {"username": "demo", "password": "demo"}
        token = (await http.post("/_rest/v4/authenticate", json=login)).json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        nested = await http.post(SEND, content=deep, headers=headers)
        binary = await http.post(SEND, content=b"\xff\xfe{", headers=headers)
    assert (nested.status_code, binary.status_code) == (400, 400)
    assert server.sandbox.requests(path=SEND)[0]["body"] == "<3000 bytes, nested too deeply to log>"


async def test_request_log_masks_passwords_and_filters(server: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        body = {"username": "demo", "password": "demo"}
        await http.post("/_rest/v4/authenticate", json=body)
        await http.get("/_rest/v4/app/sms/mdr", params={"refid": "r"})
        logged = (await http.get("/_sandbox/requests", params={"method": "POST"})).json()
        by_path = (await http.get("/_sandbox/requests", params={"path": "*/mdr"})).json()
        await http.delete("/_sandbox/requests")
        cleared = (await http.get("/_sandbox/requests")).json()
    assert logged[0]["body"] == {"username": "demo", "password": "********"}
    assert [r["query"] for r in by_path] == ["refid=r"]
    assert cleared == []


async def test_many_concurrent_clients(server: SandboxServer) -> None:
    results: list[int] = []

    async def client(http: httpx.AsyncClient) -> None:
        for _ in range(10):
            results.append((await http.get("/_sandbox/clock")).status_code)

    # Every client (each builds a TLS context, slow on a loaded machine) is made
    # before any request starts its timeouts.
    async with AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=server.url))
            for _ in range(20)
        ]
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for http in clients:
                    tg.start_soon(client, http)
    assert results == [200] * 200


async def test_exit_closes_open_connections() -> None:
    async with serve(SandboxConfig(clock_rate=0)) as running:
        stream = await anyio.connect_tcp("127.0.0.1", running.port)
    async with stream:
        assert await read_all(stream) == b""
    with pytest.raises(OSError, match="connection attempts failed"):
        await anyio.connect_tcp("127.0.0.1", running.port)


async def test_ipv6_loopback() -> None:
    try:
        context = serve(SandboxConfig(clock_rate=0), host="::1")
        running = await context.__aenter__()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        assert running.url.startswith("http://[::1]:")
        async with httpx.AsyncClient(base_url=running.url) as http:
            assert (await http.get("/_sandbox/clock")).status_code == 200
    finally:
        await context.__aexit__(None, None, None)


# -- the bare app under uvicorn: no drop extension --------------------------------------------


@pytest.fixture
def uvicorn_app() -> Iterator[str]:
    app = create_app(SandboxConfig(clock_rate=0))
    app.sandbox.add_fault(kind="drop_before", method="GET", path="/_rest/v4/app/sms/mdr", times=1)
    app.sandbox.add_fault(kind="drop_after", method="POST", path=SEND, times=1)
    with uvicorn_in_thread(app) as url:
        assert app.sandbox.running  # the lifespan started it
        yield url
    assert not app.sandbox.running


def test_under_uvicorn_drops_become_503_and_502(uvicorn_app: str) -> None:
    with httpx.Client(base_url=uvicorn_app, timeout=5) as http:
        token = http.post("/_rest/v4/authenticate", json={"username": "demo", "password": "demo"})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        before = http.get("/_rest/v4/app/sms/mdr", params={"refid": "r"}, headers=headers)
        body = {"from": "+13035550100", "to": "+13035550111", "text": "x"}
        after = http.post(SEND, json=body, headers=headers)
        state = http.get("/_sandbox/state").json()
    assert before.status_code == 503 and "not processed" in before.json()["error"]
    assert after.status_code == 502 and "was processed" in after.json()["error"]
    assert len(state["messages"]) == 1


async def test_the_blocks_own_error_comes_out_unwrapped() -> None:
    # A user's `pytest.raises(NotFoundError)` around SDK calls inside `serve()` must match:
    # the server's and the deliveries' task groups do not wrap the block's exception.
    async def look_up_a_missing_flow() -> None:
        async with (
            serve(SandboxConfig(clock_rate=0)) as server,
            server.yay_client(max_retries=0) as yay,
        ):
            await yay.callflows.get("no-such-flow")

    with pytest.raises(NotFoundError):
        await look_up_a_missing_flow()
