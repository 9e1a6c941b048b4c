"""Crash tests' machinery: a queued receiver in a uvicorn subprocess, SIGKILLed on cue.

The receiver's handler records its work in its own SQLite file (``effects.db``),
as a real one would: each run is a row in ``runs`` (pid, start, end), and its
effect is one row per refid in ``effects`` (unique key), written in the same
transaction that ends the run; the inbox's acks that came back are rows in
``acks``. After the storm, `Ledger.check` asserts that every refid IntelePeer
got a 200 for has its effect, that no acked refid ran again, and that any refid
run more than once owes each extra run to a kill: the earlier run was in a
killed process, started before the kill and either cut short or finished less
than `ACK_WINDOW` before it (its ack not back yet; measured: a few ms).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .redis_server import free_port

APP = '''
"""A queued receiver whose handler records each run and its effect."""
import os
import sqlite3
import threading
import time

import anyio

from receiver import InboundSms, RedisInbox, SharedCode, SmsReceiver, SqliteInbox

EFFECTS = os.environ["CRASH_EFFECTS"]
WORK = float(os.environ["CRASH_WORK"])
SETTINGS = dict(workers=4, lease=1.0, poll_interval=0.05, retry_delays=(0.2,))
if os.environ.get("CRASH_REDIS"):
    inbox = RedisInbox(os.environ["CRASH_REDIS"], prefix=os.environ["CRASH_PREFIX"], **SETTINGS)
else:
    inbox = SqliteInbox(os.environ["CRASH_INBOX"], **SETTINGS)
_ack = inbox.ack


async def ack(claimed):
    """The inbox's ack, recorded once it returned: an acked message must never run again."""
    acked = await _ack(claimed)
    if acked:
        await anyio.to_thread.run_sync(record_ack, claimed.refid)
    return acked


inbox.ack = ack
rx = SmsReceiver(
    verifier=SharedCode("demo-shared-code"), basic_auth=("intelepeer", "pw"), inbox=inbox
)
app = rx.app
_local = threading.local()


def db() -> sqlite3.Connection:
    if not hasattr(_local, "conn"):
        _local.conn = sqlite3.connect(EFFECTS, timeout=30, isolation_level=None)
        _local.conn.execute("PRAGMA synchronous=NORMAL")
    return _local.conn


def start(refid: str) -> int:
    cur = db().execute(
        "INSERT INTO runs (refid, pid, started) VALUES (?, ?, ?)",
        (refid, os.getpid(), time.time()),
    )
    return cur.lastrowid


def finish(run: int, refid: str) -> None:
    conn = db()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT OR IGNORE INTO effects (refid, run) VALUES (?, ?)", (refid, run))
    conn.execute("UPDATE runs SET finished = ? WHERE id = ?", (time.time(), run))
    conn.execute("COMMIT")


def record_ack(refid: str) -> None:
    db().execute(
        "INSERT INTO acks (refid, pid, at) VALUES (?, ?, ?)", (refid, os.getpid(), time.time())
    )


@rx.on_message()
async def record(msg: InboundSms) -> None:
    run = await anyio.to_thread.run_sync(start, msg.refid)
    await anyio.sleep(WORK)  # some work, so that a kill finds handlers mid-run
    await anyio.to_thread.run_sync(finish, run, msg.refid)
'''

EFFECTS_SCHEMA = """
PRAGMA journal_mode=WAL;
CREATE TABLE runs (id INTEGER PRIMARY KEY, refid TEXT, pid INTEGER, started REAL, finished REAL);
CREATE TABLE effects (refid TEXT PRIMARY KEY, run INTEGER);
CREATE TABLE acks (refid TEXT, pid INTEGER, at REAL);
"""

#: Longest a finished run may wait for its ack: a refid rerun after a kill that came
#: later than this after its run finished was acked late (or not at all) for no reason.
#: Measured under a parallel full suite: p99 125 ms, max 217 ms from a run's end to
#: its ack (acks queue behind the puts' fsyncs); 2 s leaves room for a slower disk.
ACK_WINDOW = 2.0


@dataclass
class Replica:
    """One `uvicorn crash_app:app` process on a fixed port (kept across restarts)."""

    directory: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    killed: dict[int, float] = field(default_factory=dict)  # pid -> when it was dead

    @property
    def webhook(self) -> str:
        return f"http://intelepeer:pw@127.0.0.1:{self.port}/sms"

    def start(self) -> None:
        log = (self.directory / f"uvicorn-{self.port}.log").open("ab")
        args = [sys.executable, "-m", "uvicorn", "crash_app:app", "--host", "127.0.0.1"]
        args += ["--port", str(self.port), "--log-level", "warning", "--lifespan", "on"]
        self.process = subprocess.Popen(
            args, cwd=self.directory, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_tail()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("the receiver did not start: " + self.log_tail())

    def kill_if_busy(self) -> bool:
        """SIGKILL it if one of its handlers is mid-run (no lifespan shutdown, no
        goodbye) and say so; otherwise leave it be."""
        assert self.process is not None
        effects = sqlite3.connect(self.env["CRASH_EFFECTS"], timeout=30)
        try:
            busy = effects.execute(
                "SELECT 1 FROM runs WHERE pid = ? AND finished IS NULL", (self.process.pid,)
            ).fetchone()
        finally:
            effects.close()
        if not busy:
            return False
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        # Stamped once it is dead: until the signal lands, its workers may still
        # start runs, and a run that began a moment before is no run after death.
        self.killed[self.process.pid] = time.time()
        return True

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: lifespan shutdown
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self) -> str:
        logs = sorted(self.directory.glob("uvicorn-*.log"))
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in logs)


def prepare(directory: Path, **env: str) -> dict[str, str]:
    """Write the app and the effects file; the environment the replicas run with."""
    (directory / "crash_app.py").write_text(APP)
    effects = directory / "effects.db"
    conn = sqlite3.connect(effects)
    conn.executescript(EFFECTS_SCHEMA)
    conn.close()
    root = str(Path(__file__).parent.parent)
    python_path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {
        **os.environ,
        "PYTHONPATH": python_path,
        "CRASH_EFFECTS": str(effects),
        "CRASH_INBOX": str(directory / "inbox.db"),
        # Seconds of work per message: long enough for a kill to land mid-run.
        "CRASH_WORK": "0.025",
        **env,
    }


@dataclass
class Ledger:
    """What the handler recorded, read from the effects file."""

    effects: set[str]
    runs: dict[str, list[tuple[int, float, float | None]]]  # refid -> [(pid, started, finished)]
    acks: dict[str, list[tuple[int, float]]]  # refid -> [(pid, when the ack returned)]

    @classmethod
    def read(cls, directory: Path) -> Ledger:
        conn = sqlite3.connect(directory / "effects.db")
        try:
            effects = {row[0] for row in conn.execute("SELECT refid FROM effects")}
            runs: dict[str, list[tuple[int, float, float | None]]] = defaultdict(list)
            for refid, pid, started, finished in conn.execute(
                "SELECT refid, pid, started, finished FROM runs ORDER BY started"
            ):
                runs[refid].append((pid, started, finished))
            acks: dict[str, list[tuple[int, float]]] = defaultdict(list)
            for refid, pid, at in conn.execute("SELECT refid, pid, at FROM acks"):
                acks[refid].append((pid, at))
        finally:
            conn.close()
        return cls(effects, dict(runs), dict(acks))

    def rerun_after_kill(self, killed: dict[int, float]) -> dict[str, int]:
        """The refids run more than once (each extra run owed to a kill) and the pid of
        their last run; asserts that no refid was run twice without one."""
        rerun = {}
        for refid, runs in self.runs.items():
            if len(runs) == 1:
                continue
            acks = self.acks.get(refid, [])
            assert len(acks) <= 1, f"{refid} acked twice: {acks}"
            assert all(pid == runs[-1][0] for pid, _ in acks), f"{refid} acked, then rerun"
            for pid, started, finished in runs[:-1]:
                killed_at = killed.get(pid)
                assert killed_at is not None, f"{refid} ran twice with no kill: {runs}"
                assert started < killed_at, f"{refid}: run began after its process died"
                # Cut mid-run, or its ack had not come back when the kill came (an ack
                # follows the handler within milliseconds; ACK_WINDOW leaves room for a
                # loaded machine).
                late = None if finished is None else killed_at - finished
                assert late is None or late < ACK_WINDOW, (refid, runs, killed_at)
            rerun[refid] = runs[-1][0]
        return rerun


def answered_200(deliveries: list[dict[str, object]]) -> set[str]:
    """Refids with at least one delivery attempt the receiver answered 200."""
    done = set()
    for delivery in deliveries:
        attempts = delivery["attempts"]
        assert isinstance(attempts, list)
        if any(a["status"] == 200 for a in attempts):
            done.add(str(delivery["refid"]))
    return done
