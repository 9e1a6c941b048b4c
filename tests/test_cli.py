"""The console script."""

from __future__ import annotations

import subprocess
import sys

from intelepeer_async import __version__


def test_version_from_the_installed_script() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from intelepeer_async.cli import main; raise SystemExit(main())",
            "--version",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"intelepeer-async {__version__}"
