"""``intelepeer inbox``: list, show, replay and purge dead letters; stats; on SQLite and Redis."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import anyio
import pytest

from receiver import InboundSms, RedisInbox, SqliteInbox
from receiver.inbox import Inbox

from .cli_support import invoke, one_error_line
from .inbox_support import unique_prefix
from .redis_server import free_port

A, B, C = "A" * 32, "B" * 32, "C" * 32


def sms(refid: str) -> InboundSms:
    return InboundSms(
        refid=refid, from_="+17705551212", to="+13038675309", message=f"text of {refid[:1]}"
    )


def populate(inbox: Inbox, backend: str = "asyncio") -> None:
    """A and B dead-lettered (their one attempt failed), C pending."""

    async def go() -> None:
        async with inbox:  # type: ignore[attr-defined]
            for refid in (A, B):
                await inbox.put(sms(refid))
                claimed = await inbox.take("w")
                assert claimed is not None and claimed.refid == refid
                assert await inbox.fail(claimed, f"handler: ValueError: bad {refid[:1]}") == "dead"
            await inbox.put(sms(C))

    anyio.run(go, backend=backend)


def state(inbox: Inbox, refid: str) -> str | None:
    async def go() -> str | None:
        async with inbox:  # type: ignore[attr-defined]
            entry = await inbox.get(refid)
        return None if entry is None else entry.state

    return anyio.run(go)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "inbox.db"
    populate(SqliteInbox(path, max_attempts=1), backend="trio")
    return path


def test_list_shows_the_dead_letters(db: Path) -> None:
    result = invoke("inbox", "--sqlite", str(db), "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["REFID", "ATTEMPTS", "DEAD", "SINCE", "LAST", "ERROR"]
    assert [line.split()[0] for line in lines[1:]] == [A, B]
    assert "handler: ValueError: bad A" in lines[1]
    data = json.loads(invoke("--json", "inbox", "--sqlite", str(db), "list").stdout)
    assert [d["refid"] for d in data] == [A, B]
    assert data[0]["state"] == "dead" and data[0]["message"]["message"] == "text of A"


def test_show_one_message(db: Path) -> None:
    result = invoke("inbox", "--sqlite", str(db), "show", A)
    assert result.exit_code == 0
    assert "state: dead" in result.stdout and "message: text of A" in result.stdout
    assert "last error: handler: ValueError: bad A" in result.stdout
    data = json.loads(invoke("inbox", "--sqlite", str(db), "show", C, "--json").stdout)
    assert data["state"] == "pending" and data["attempts"] == 0
    missing = invoke("inbox", "--sqlite", str(db), "show", "NOPE")
    assert missing.exit_code == 1
    assert "no message NOPE" in one_error_line(missing)


def test_replay_queues_a_dead_letter_again(db: Path) -> None:
    result = invoke("inbox", "--sqlite", str(db), "replay", A)
    assert result.exit_code == 0 and "replayed 1 dead letter(s)" in result.stdout
    assert state(SqliteInbox(db), A) == "pending"
    again = invoke("inbox", "--sqlite", str(db), "replay", A, C)
    assert again.exit_code == 1
    assert "not a dead letter: " + A in again.stdout
    assert "2 refid(s) were not dead letters" in one_error_line(again)
    every = invoke("--json", "inbox", "--sqlite", str(db), "replay", "--all")
    assert json.loads(every.stdout) == {"replayed": [B], "not_dead_letters": []}
    assert state(SqliteInbox(db), B) == "pending"


def test_replay_all_replays_each_dead_letter_once_while_workers_dead_letter_them_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler is still broken and the receiver runs: each replayed message is
    dead-lettered again at once. ``replay --all`` replays each one once and ends."""
    path = tmp_path / "inbox.db"
    refids = [f"R{n:031d}" for n in range(30)]

    async def dead_letters() -> None:
        async with SqliteInbox(path, max_attempts=1) as inbox:
            for refid in refids:
                await inbox.put(sms(refid))
                claimed = await inbox.take("w")
                assert claimed is not None and await inbox.fail(claimed, "broken") == "dead"

    anyio.run(dead_letters)
    replay = SqliteInbox.replay
    replays: list[str] = []

    async def replay_then_fail_at_once(self: SqliteInbox, refid: str) -> bool:
        replayed = await replay(self, refid)
        replays.append(refid)
        if replayed and len(replays) <= 200:  # the workers: bounded, so the old code ends
            async with SqliteInbox(path, max_attempts=1) as worker:
                claimed = await worker.take("w")
                assert claimed is not None and await worker.fail(claimed, "still") == "dead"
        return replayed

    monkeypatch.setattr(SqliteInbox, "replay", replay_then_fail_at_once)
    result = invoke("--json", "inbox", "--sqlite", str(path), "replay", "--all")
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)["replayed"]) == refids
    assert sorted(replays) == refids  # each once


def test_purge_deletes_dead_letters_and_asks_before_all(db: Path) -> None:
    unconfirmed = invoke("inbox", "--sqlite", str(db), "purge", "--all")
    assert unconfirmed.exit_code == 2 and "--yes" in one_error_line(unconfirmed)
    assert invoke("inbox", "--sqlite", str(db), "purge", A).exit_code == 0
    assert state(SqliteInbox(db), A) is None
    assert invoke("inbox", "--sqlite", str(db), "purge", C).exit_code == 1  # pending: kept
    assert state(SqliteInbox(db), C) == "pending"
    assert invoke("inbox", "--sqlite", str(db), "purge", "--all", "--yes").exit_code == 0
    assert state(SqliteInbox(db), B) is None
    assert invoke("inbox", "--sqlite", str(db), "list").stdout.strip() == "no dead letters"


def test_stats(db: Path) -> None:
    data = json.loads(invoke("inbox", "--sqlite", str(db), "stats", "--json").stdout)
    assert data["received"] == 3 and data["dead_lettered"] == 2
    assert data["dead_letters"] == 2 and data["queue_depth"] == 1
    human = invoke("inbox", "--sqlite", str(db), "stats").stdout
    assert "queue_depth: 1" in human and "retried: 0" in human


def test_usage_errors(db: Path, tmp_path: Path) -> None:
    for args in (
        ["inbox", "list"],
        ["inbox", "--sqlite", str(db), "--redis", "redis://127.0.0.1:1/0", "list"],
        ["inbox", "--sqlite", str(tmp_path / "missing.db"), "list"],
        ["inbox", "--sqlite", str(db), "replay"],
        ["inbox", "--sqlite", str(db), "replay", A, "--all"],
        ["inbox", "--redis", "http://127.0.0.1:1", "list"],
    ):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        one_error_line(result)
    assert not (tmp_path / "missing.db").exists()  # never created by a typo


def test_a_file_that_is_not_an_inbox_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    """A wrong --sqlite path (another app's database, a text file) is an error that says
    what the file is not, and the file is not converted to WAL nor given inbox tables."""
    other = tmp_path / "crm.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    text = tmp_path / "notes.txt"
    text.write_text("not a database, but long enough to look at " * 40)
    for path, says in ((other, "is not a receiver inbox"), (text, "is not a SQLite database")):
        before = path.read_bytes()
        for command in ("list", "stats"):
            result = invoke("inbox", "--sqlite", str(path), command)
            assert result.exit_code == 2, result.output
            assert says in one_error_line(result)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db", "notes.txt"]  # no -wal
    conn = sqlite3.connect(other)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def test_on_redis(redis_url: str) -> None:
    prefix = unique_prefix()
    populate(RedisInbox(redis_url, prefix=prefix, max_attempts=1))
    listed = invoke("--json", "inbox", "--redis", redis_url, "--prefix", prefix, "list")
    assert [d["refid"] for d in json.loads(listed.stdout)] == [A, B]
    # The URL from the environment (it may hold a password: kept out of `ps`).
    env = {"INTELEPEER_INBOX_REDIS": redis_url}
    assert invoke("inbox", "--prefix", prefix, "replay", A, env=env).exit_code == 0
    assert state(RedisInbox(redis_url, prefix=prefix), A) == "pending"
    stats = json.loads(invoke("inbox", "--prefix", prefix, "stats", "--json", env=env).stdout)
    assert stats["dead_letters"] == 1 and stats["queue_depth"] == 2


def test_an_unreachable_redis_is_a_network_error() -> None:
    url = f"redis://user:hunter2@127.0.0.1:{free_port()}/0"
    result = invoke("inbox", "--redis", url, "stats")
    assert result.exit_code == 4
    line = one_error_line(result)
    assert "ConnectionError" in line and "hunter2" not in result.output
