"""``python -m intelepeer_async.sandbox``: the same as ``intelepeer sandbox``."""

from .cli import sandbox_command

sandbox_command(prog_name="python -m intelepeer_async.sandbox")
