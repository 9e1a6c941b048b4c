"""The `make bench` harness: servers in their own processes, pinned cores, runs, rows.

A suite (a module listed in ``benchmarks/__main__.py``) gets a `Bench` and
returns `Row`s. `Bench` starts servers (`Bench.sandbox`) and runs each
measurement in a fresh worker process (`Bench.measure`), each pinned to its
own core when there are enough; a `Row` compares the median of a figure with
the median of its baseline, both measured in this invocation, against a
target from the issue. See ``benchmarks/__init__.py`` for adding a suite.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    """One line of the table: a figure against its baseline, and the issue's target.

    `ratio` is ``median(figures) / median(baseline_figures)`` and must satisfy
    `goal` ("<= 1.10", ">= 4"), unless `limit` is given: then the figure itself
    is judged (peak RSS below 150 MB, zero errors) and the ratio is shown for
    context. Goal ``"none"``: a figure the issue asks for without a target
    (`passed` is None). `issue_target` is False for a row the issue did not set
    (a baseline of our own choosing, shown beside the issue's row, never instead
    of it). `note` says what capped or qualified the figure (server CPU).
    """

    target: str
    name: str
    unit: str
    figures: list[float]
    baseline_figures: list[float]
    goal: str
    limit: str | None = None
    note: str = ""
    issue_target: bool = True
    figure: float = field(init=False)
    baseline: float = field(init=False)
    ratio: float = field(init=False)
    passed: bool | None = field(init=False)

    def __post_init__(self) -> None:
        self.figure = statistics.median(self.figures)
        self.baseline = statistics.median(self.baseline_figures)
        self.ratio = self.figure / self.baseline if self.baseline else float("inf")
        judged, rule = (self.figure, self.limit) if self.limit else (self.ratio, self.goal)
        self.passed = None if rule == "none" else _holds(judged, rule)
        if self.passed is None:
            self.issue_target = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["pass"] = data.pop("passed")
        return data


def _holds(value: float, rule: str) -> bool:
    op, _, bound = rule.partition(" ")
    limit = float(bound)
    checks: dict[str, Callable[[float, float], bool]] = {
        "<=": lambda a, b: a <= b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        ">": lambda a, b: a > b,
        "==": lambda a, b: a == b,
    }
    return checks[op](value, limit)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


#: One measurement: runs a worker and returns its JSON.
Measure = Callable[[], dict[str, Any]]


@dataclass
class Server:
    """A server process: its base URL, and how much CPU it has used so far."""

    url: str
    process: subprocess.Popen[str]

    def cpu(self) -> float:
        return _cpu_seconds(self.process.pid)


@dataclass
class Bench:
    """What a suite needs: sizes, run counts, cores, servers and workers."""

    quick: bool
    runs: int
    cores: list[int] = field(default_factory=lambda: sorted(os.sched_getaffinity(0)))
    log: Callable[[str], None] = print

    @property
    def client_core(self) -> int | None:
        """The client's core; None when there is only one (nothing pinned)."""
        return self.cores[0] if len(self.cores) >= 2 else None

    @property
    def server_core(self) -> int | None:
        return self.cores[-1] if len(self.cores) >= 2 else None

    def size(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def _pinned(self, core: int | None) -> Callable[[], None] | None:
        if core is None:
            return None
        return lambda: os.sched_setaffinity(0, {core})

    @contextmanager
    def server(self, args: list[str], *, ready: float = 20.0) -> Iterator[Server]:
        """A server process (``python -m ...`` with `args`) on the server core, which
        prints its base URL as its first line; yielded once it accepts connections."""
        process = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            preexec_fn=self._pinned(self.server_core),
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            if not url.startswith("http://"):
                raise RuntimeError(f"{' '.join(args)} did not print its URL")
            _wait_until_listening(url, process, ready)
            yield Server(url, process)
        finally:
            process.terminate()
            process.wait(timeout=15)

    @contextmanager
    def sandbox(self, config: Mapping[str, Any] | None = None) -> Iterator[Server]:
        """The simulator (``python -m intelepeer_async.sandbox``) in its own process,
        on loopback, on the server core, with a frozen virtual clock."""
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "sandbox.json"
            path.write_text(json.dumps({"clock_rate": 0, **(config or {})}))
            args = ["-m", "intelepeer_async.sandbox", "--port", "0", "--config", str(path)]
            with self.server(args) as server:
                yield server

    @contextmanager
    def redis(self, directory: Path) -> Iterator[Server]:
        """A redis-server of our own on a free loopback port, pinned to the server core
        (the receiver's storage shares its core, as SQLite's threads do), appending
        every write to disk before answering (``appendfsync always``, the durable
        setting README "Running in production" names); `Server.url` is ``redis://``."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is needed: `make redis` installs it")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--dir", str(directory)]
        process = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=self._pinned(self.server_core),
            text=True,
        )
        try:
            _wait_until_listening(f"redis://127.0.0.1:{port}", process, 10)
            yield Server(f"redis://127.0.0.1:{port}/0", process)
        finally:
            process.terminate()
            process.wait(timeout=15)

    def measure(self, spec: Mapping[str, Any], server: Server | None = None) -> dict[str, Any]:
        """One run of ``benchmarks._worker`` in a fresh pinned process; its JSON,
        plus the server's CPU seconds (``server_cpu``) over the run."""
        before = server.cpu() if server else 0.0
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks._worker"],
            input=json.dumps(dict(spec)),
            capture_output=True,
            text=True,
            cwd=ROOT,
            preexec_fn=self._pinned(self.client_core),
            timeout=600,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"worker failed ({spec.get('kind')}): {out.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        result["elapsed"] = time.perf_counter() - started
        if server is not None:
            result["server_cpu"] = server.cpu() - before
        return result

    def interleaved(
        self, variants: Mapping[str, Measure], *, rounds: int | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Every variant `rounds` times (default `runs`), round-robin, so a slow
        moment on a shared machine falls on all of them alike rather than on one.
        Each round starts one variant later than the one before, so no variant
        always runs first (right after whatever the previous round left behind)."""
        rounds = rounds or self.runs
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        names = list(variants)
        for run in range(rounds):
            for name in names[run % len(names) :] + names[: run % len(names)]:
                results[name].append(variants[name]())
                self.log(f"    run {run + 1}/{rounds} {name}: done")
        return results


def _wait_until_listening(url: str, process: subprocess.Popen[str], seconds: float) -> None:
    """Until `url`'s port accepts a connection (or `process` dies, or `seconds` pass)."""
    host, _, port = url.split("://", 1)[1].partition("/")[0].rpartition(":")
    deadline = time.monotonic() + seconds
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server at {url} did not start") from None
            time.sleep(0.02)


def server_share(results: list[dict[str, Any]]) -> float:
    """Median share of one core the server used while the client ran (1.0: saturated)."""
    shares = [float(r["server_cpu"]) / r["wall"] for r in results if r["wall"] > 0]
    return statistics.median(shares) if shares else 0.0


def find_wrk(*, install: bool = True) -> str | None:
    """The ``wrk`` load generator, installed with apt (as root, non-interactive) if
    missing and allowed; None when it cannot be had. For the receiver suite,
    which falls back to a multi-process load script and says which it used."""
    found = shutil.which("wrk")
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(command, env=env, capture_output=True, check=False).returncode != 0:
            return None
    return shutil.which("wrk")
