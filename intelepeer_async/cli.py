"""The ``intelepeer`` command.

Only what works today: ``intelepeer --version``. Sub-commands arrive with the
features they drive.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="intelepeer", description="IntelePeer and Yay.com from the command line."
    )
    parser.add_argument("--version", action="version", version=f"intelepeer-async {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
