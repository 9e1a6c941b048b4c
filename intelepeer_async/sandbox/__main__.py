"""``python -m intelepeer_async.sandbox``: the same as ``intelepeer sandbox``.

Errors and exit codes are the ``intelepeer`` command's: one ``error:`` line,
never a traceback.
"""

import sys

from ..cli import run_reporting
from .cli import sandbox_command

sys.exit(
    run_reporting(
        lambda: sandbox_command.main(
            prog_name="python -m intelepeer_async.sandbox", standalone_mode=False
        )
    )
)
