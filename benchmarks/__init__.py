"""`make bench`: the performance targets of issue 10, measured side by side in one run.

    make bench                      # everything, ~4 minutes on 2 cores
    .venv/bin/python -m benchmarks --only calls --runs 5
    .venv/bin/python -m benchmarks --quick     # tiny sizes: checks the code paths only

Each suite measures a figure and its baseline in the same invocation (servers
in their own processes on loopback, pinned to their own cores where there are
enough), takes the median of several runs of each, and reports the RATIO
against the issue's target. Results go to ``benchmarks/results.json`` (name,
figures, baseline figures, ratio, target, pass) and a table on stdout.

Adding a suite (the receiver's, target 4, is the next one): write
``benchmarks/<name>.py`` with ``TITLE`` and ``run(bench: Bench) -> list[Row]``,
and add it to `SUITES` in ``benchmarks/__main__.py``. Inside, start servers
with ``bench.sandbox(...)`` (or your own process, pinned with
``bench.server_core``), run each measurement in a fresh pinned process (see
``Bench.measure`` and ``_worker.py``), run variants round-robin with
``bench.interleaved``, and size work with ``bench.size(full, quick)`` so that
``--quick`` (run by the test suite) stays tiny. ``find_wrk()`` gives wrk,
installing it with apt when allowed, for HTTP load against a server.
"""
